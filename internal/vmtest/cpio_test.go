package vmtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// cpioEntry is one entry read back by readCPIO.
type cpioEntry struct {
	name         string
	mode         uint32
	rmajor, rmin uint32
	data         []byte
}

// readCPIO parses a newc archive, checking magic and 4-byte alignment.
func readCPIO(t *testing.T, b []byte) []cpioEntry {
	t.Helper()
	var out []cpioEntry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("entry at %d: field %d: %v", off, i, err)
		}
		return uint32(v)
	}
	align := func(n int) int { return (n + 3) &^ 3 }
	for {
		if off%4 != 0 {
			t.Fatalf("entry at %d is not 4-byte aligned", off)
		}
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("no newc header at %d", off)
		}
		mode, size, rmajor, rminor, namesize := field(1), int(field(6)), field(9), field(10), int(field(11))
		nameEnd := off + 110 + namesize
		if b[nameEnd-1] != 0 {
			t.Fatalf("entry at %d: name not NUL-terminated", off)
		}
		name := string(b[off+110 : nameEnd-1])
		dataStart := align(nameEnd)
		if name == "TRAILER!!!" {
			return out
		}
		out = append(out, cpioEntry{name, mode, rmajor, rminor, b[dataStart : dataStart+size]})
		off = align(dataStart + size)
	}
}

func TestCPIOWriter(t *testing.T) {
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.dir("dev", 0o755))
	must(c.charDev("dev/console", 0o600, 5, 1))
	must(c.dir("/a/", 0o755))
	for i, data := range []string{"", "x", "xy", "xyz", "wxyz", "hello\n"} {
		name := fmt.Sprintf("a/f%d", i)
		must(c.file(name, 0o755, int64(len(data)), strings.NewReader(data)))
	}
	must(c.close())

	entries := readCPIO(t, buf.Bytes())
	want := map[string]string{"a/f0": "", "a/f1": "x", "a/f2": "xy", "a/f3": "xyz", "a/f4": "wxyz", "a/f5": "hello\n"}
	got := map[string]cpioEntry{}
	for _, e := range entries {
		got[e.name] = e
	}
	for name, data := range want {
		e, ok := got[name]
		if !ok {
			t.Errorf("no entry %s", name)
			continue
		}
		if string(e.data) != data || e.mode != cpioReg|0o755 {
			t.Errorf("%s: data %q mode %o, want %q %o", name, e.data, e.mode, data, cpioReg|0o755)
		}
	}
	if e := got["dev/console"]; e.mode != cpioChar|0o600 || e.rmajor != 5 || e.rmin != 1 {
		t.Errorf("dev/console: mode %o rdev %d:%d", e.mode, e.rmajor, e.rmin)
	}
	if e := got["a"]; e.mode != cpioDir|0o755 {
		t.Errorf("a: mode %o, want a directory", e.mode)
	}
}

func TestCPIOWriterShortFile(t *testing.T) {
	c := newCPIOWriter(io.Discard)
	if err := c.file("short", 0o644, 10, strings.NewReader("abc")); err == nil {
		t.Error("file with less data than its size: no error")
	}
	if err := c.dir("", 0o755); err == nil {
		t.Error("entry with an empty name: no error")
	}
}

// TestCPIOWriterWithCPIO checks the archive with the cpio command, when
// installed, as a second reader.
func TestCPIOWriterWithCPIO(t *testing.T) {
	bin, err := exec.LookPath("cpio")
	testenv.Require(t, err == nil, "cpio command not installed (apt-get install cpio): %v", err)
	var buf bytes.Buffer
	c := newCPIOWriter(&buf)
	for _, err := range []error{
		c.dir("d", 0o755),
		c.file("d/f", 0o644, 5, strings.NewReader("12345")),
		c.file("g", 0o755, 3, strings.NewReader("abc")),
		c.close(),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	cmd := exec.Command(bin, "-id", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"d/f": "12345", "g": "abc"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
}
