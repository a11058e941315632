package sdk

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// findState checks what the agent relies on in the ELF file at path: the
// magic occurs exactly once, inside a writable data section, followed by
// attached = 0. It returns the magic's virtual address.
func findState(t *testing.T, path string) uint64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	magic := state.magic[:]
	if n := bytes.Count(data, magic); n != 1 {
		t.Fatalf("%s: magic found %d times, want 1", path, n)
	}
	off := uint64(bytes.Index(data, magic))
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, s := range f.Sections {
		if s.Type != elf.SHT_PROGBITS || off < s.Offset || off >= s.Offset+s.Size {
			continue
		}
		if s.Flags&(elf.SHF_ALLOC|elf.SHF_WRITE) != elf.SHF_ALLOC|elf.SHF_WRITE {
			t.Fatalf("%s: magic in %s, not a writable data section", path, s.Name)
		}
		if a := binary.LittleEndian.Uint32(data[off+16:]); a != 0 {
			t.Fatalf("%s: attached = %d in the file", path, a)
		}
		t.Logf("%s: magic in %s at %#x", filepath.Base(path), s.Name, s.Addr+off-s.Offset)
		return s.Addr + off - s.Offset
	}
	t.Fatalf("%s: magic at offset %#x is in no data section", path, off)
	return 0
}

func TestStateInTestBinary(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	findState(t, exe)
}

// TestStateInApp builds a small app, with and without symbols, and checks
// that the agent can find the attach state in both, and the hooks by name.
func TestStateInApp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	build := func(name string, args ...string) string {
		out := filepath.Join(dir, name)
		cmd := exec.Command(gobin, append(append([]string{"build", "-o", out}, args...), "./testdata/attachprog")...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		return out
	}
	full := build("app")
	addr := findState(t, full)
	nm, err := exec.Command(gobin, "tool", "nm", full).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := map[string]string{}
	for _, l := range strings.Split(string(nm), "\n") {
		if f := strings.Fields(l); len(f) == 3 {
			syms[f[2]] = f[0] + " " + f[1]
		}
	}
	const pkg = "github.com/sonde-go/auto/sdk."
	if got, want := syms[pkg+"state"], fmt.Sprintf("%x D", addr); got != want {
		t.Errorf("nm: sdk.state is %q, want %q (data, at the magic)", got, want)
	}
	for _, hook := range []string{"annotate", "spanStarted", "spanEnded"} {
		if !strings.HasSuffix(syms[pkg+hook], " T") {
			t.Errorf("nm: no text symbol for sdk.%s", hook)
		}
	}
	findState(t, build("app-stripped", "-ldflags=-s -w"))
}
