package binary

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// pclntabCopy returns a copy of the fixture's bytes and the file offset of
// its .gopclntab section.
func pclntabCopy(t *testing.T, fx *fixture) ([]byte, uint64) {
	t.Helper()
	path := fx.build(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	s := ef.Section(".gopclntab")
	if s == nil {
		t.Fatalf("%s has no .gopclntab", fx.name)
	}
	return data, s.Offset
}

// TestCorruptPclntab: a pclntab header whose function count, file count
// or table offsets exceed the section is refused as corrupted before
// debug/gosym allocates from it. With nfunc = 2^32-1 the gosym path alone
// dies with "fatal error: runtime: out of memory".
func TestCorruptPclntab(t *testing.T) {
	data, off := pclntabCopy(t, fxHTTPStripped)
	put := func(c []byte, field int, v uint64) { binary.LittleEndian.PutUint64(c[off+uint64(field):], v) }
	nfunc := binary.LittleEndian.Uint64(data[off+8:])
	functab := binary.LittleEndian.Uint64(data[off+64:])
	tests := []struct {
		name  string
		patch func(c []byte)
		msg   string
	}{
		{"huge-nfunc", func(c []byte) { put(c, 8, 0xffffffff) }, "4294967295 functions claimed, more than the 2097152 accepted"},
		{"nfunc-past-end", func(c []byte) { put(c, 8, 2_000_000) }, "2000000 functions claimed, the function table has room for"},
		{"zero-nfunc", func(c []byte) { put(c, 8, 0) }, "no functions"},
		{"huge-nfiles", func(c []byte) { put(c, 16, 1<<40) }, "1099511627776 files claimed"},
		{"funcname-offset", func(c []byte) { put(c, 32, 1<<62) }, "table offset 0x4000000000000000 outside"},
		{"functab-offset", func(c []byte) { put(c, 64, 1<<31) }, "table offset 0x80000000 outside"},
		{"unsorted", func(c []byte) {
			// Swap the entry offsets of functions 1 and 2.
			a, b := off+functab+8, off+functab+16
			x, y := binary.LittleEndian.Uint32(c[a:]), binary.LittleEndian.Uint32(c[b:])
			binary.LittleEndian.PutUint32(c[a:], y)
			binary.LittleEndian.PutUint32(c[b:], x)
		}, "function 2 starts at"},
		{"text-end", func(c []byte) { binary.LittleEndian.PutUint32(c[off+functab+8*nfunc:], 0xfffffff0) }, "functions span 0xfffffff0 bytes from"},
		{"descriptor", func(c []byte) { binary.LittleEndian.PutUint32(c[off+functab+8*(nfunc/2)+4:], 0xfffffff0) }, "descriptor of function"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := slices.Clone(data)
			tt.patch(c)
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, c, 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err != nil {
				t.Fatalf("Open: %v (build info is intact)", err)
			}
			defer f.Close()
			_, err = f.Func("main.main")
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), path) {
				t.Errorf("Func(main.main) = %v, want ErrCorrupt naming the file and saying %q", err, tt.msg)
			}
		})
	}
	// The unpatched copy still parses: the checks accept a real table.
	if err := checkPcHeader(data[off:]); err != nil {
		t.Errorf("checkPcHeader(real pclntab) = %v", err)
	}
}

// TestCheckPcHeaderFixtures: every real pclntab the tests build passes.
func TestCheckPcHeaderFixtures(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxHTTPStripped, fxPIE, fxExtPIEStripped, fxARM64Stripped, fxGo122Stripped, fxGo127Stripped} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			data, _, err := f.findPclntab()
			if err != nil {
				t.Fatal(err)
			}
			if err := checkPcHeader(data); err != nil {
				t.Errorf("checkPcHeader: %v", err)
			}
		})
	}
}

// TestOpenNotRegular: a FIFO with no writer is refused at once (opening
// it for reading would block forever), as are devices and sockets.
func TestOpenNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{fifo: "FIFO", "/dev/zero": "character device", sock: "socket"} {
		done := make(chan error, 1)
		go func() {
			f, err := Open(path)
			if err == nil {
				f.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			want := path + ": is a " + kind + ", not an executable"
			if !errors.Is(err, ErrNotRegular) || errors.Is(err, ErrNotGo) || err.Error() != want {
				t.Errorf("Open(%s) = %v, want %q (ErrNotRegular)", path, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Open(%s) still blocked after 10s", path)
		}
	}
	if _, err := Open(dir); !errors.Is(err, ErrNotRegular) {
		t.Errorf("Open(directory) = %v, want ErrNotRegular", err)
	}
}

// patchedFixture writes a copy of the fixture with patch applied to its
// bytes, given the parsed ELF of the original.
func patchedFixture(t *testing.T, fx *fixture, patch func(ef *elf.File, c []byte)) string {
	t.Helper()
	path := fx.build(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ef.Close()
	patch(ef, data)
	out := filepath.Join(t.TempDir(), fx.name+"-patched")
	if err := os.WriteFile(out, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestHugeSymbolSize: a symbol whose size runs past its code segment is
// ignored and the function found through the pclntab, with its real size.
func TestHugeSymbolSize(t *testing.T) {
	want, err := fxHTTP.open(t).Func("main.main")
	if err != nil {
		t.Fatal(err)
	}
	path := patchedFixture(t, fxHTTP, func(ef *elf.File, c []byte) {
		syms, err := ef.Symbols()
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == "main.main" })
		if i < 0 {
			t.Fatal("no main.main symbol")
		}
		// Elf64_Sym: st_size at byte 16; entry 0 is the null symbol.
		binary.LittleEndian.PutUint64(c[ef.Section(".symtab").Offset+uint64(i+1)*24+16:], 1<<40)
	})
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.Func("main.main")
	if err != nil {
		t.Fatalf("Func(main.main) = %v", err)
	}
	if got.Addr != want.Addr || got.Size < want.Size || got.Size > want.Size+64 {
		t.Errorf("Func(main.main) = %#x+%d, want %#x+%d (pclntab size, up to alignment)", got.Addr, got.Size, want.Addr, want.Size)
	}
}

// TestDWARFBomb: a compressed DWARF section whose header claims more than
// maxDWARFBytes is refused before anything is decompressed.
func TestDWARFBomb(t *testing.T) {
	path := patchedFixture(t, fxHTTP, func(ef *elf.File, c []byte) {
		s := ef.Section(".debug_info")
		if s == nil || s.Flags&elf.SHF_COMPRESSED == 0 {
			t.Skip("fixture's .debug_info is not SHF_COMPRESSED")
		}
		// Elf64_Chdr: ch_size at byte 8.
		binary.LittleEndian.PutUint64(c[s.Offset+8:], 1<<36)
	})
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = f.DWARF()
	if !errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNoDWARF) || !strings.Contains(err.Error(), "more than the 1073741824 accepted") {
		t.Errorf("DWARF() = %v, want ErrCorrupt (size claimed)", err)
	}
}
