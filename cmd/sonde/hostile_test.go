package main

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestCheckCorruptPclntab: `sonde check --exe` on a stripped binary whose
// .gopclntab header claims 2^32-1 functions reports the file as corrupted
// and exits 1, where debug/gosym alone dies with "fatal error: runtime:
// out of memory".
func TestCheckCorruptPclntab(t *testing.T) {
	stripped := testenv.Build(t, ".", testenv.Name("sonde-stripped"), testenv.Flags("-ldflags=-s -w"))
	data, err := os.ReadFile(stripped)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(stripped)
	if err != nil {
		t.Fatal(err)
	}
	s := ef.Section(".gopclntab")
	ef.Close()
	if s == nil {
		t.Fatal("no .gopclntab")
	}
	binary.LittleEndian.PutUint64(data[s.Offset+8:], 0xffffffff) // pcHeader.nfunc
	bad := filepath.Join(t.TempDir(), "bad-pclntab")
	if err := os.WriteFile(bad, data, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	code := sonde([]string{"check", "--exe", bad}, &stdout, &stderr)
	if code != exitNothing {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitNothing, &stderr)
	}
	want := bad + ": corrupted ELF file: pclntab at "
	if !strings.Contains(stdout.String(), want) || !strings.Contains(stdout.String(), "4294967295 functions claimed, more than the 2097152 accepted") {
		t.Errorf("stdout does not say %q with the count:\n%s", want, &stdout)
	}
}
