package binary

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"testing"
)

// Functions looked up in the httpapp fixture.
var httpFuncs = []string{
	"net/http.serverHandler.ServeHTTP",
	"net/http.(*conn).serve",
	"net/http.(*ServeMux).ServeHTTP",
	"main.(*api).hello",
	"main.main",
	"github.com/go-logr/logr.Logger.Info",
}

// checkFunc verifies fn against the file: the bytes at its file offset are
// the bytes of .text at its address, and every return offset holds a
// return instruction inside the function.
func checkFunc(t *testing.T, f *File, fn Func) {
	t.Helper()
	raw, err := os.ReadFile(f.Path())
	if err != nil {
		t.Fatal(err)
	}
	text := f.ELF().Section(".text")
	data, err := text.Data()
	if err != nil {
		t.Fatal(err)
	}
	if fn.Addr < text.Addr || fn.Addr+fn.Size > text.Addr+text.Size || fn.Size == 0 {
		t.Fatalf("%s: [%#x, +%d) is outside .text", fn.Name, fn.Addr, fn.Size)
	}
	fromFile := raw[fn.Offset : fn.Offset+fn.Size]
	fromSect := data[fn.Addr-text.Addr : fn.Addr-text.Addr+fn.Size]
	if !bytes.Equal(fromFile, fromSect) {
		t.Errorf("%s: bytes at file offset %#x differ from .text at %#x", fn.Name, fn.Offset, fn.Addr)
	}
	if len(fn.Returns) == 0 {
		t.Errorf("%s: no return instructions found", fn.Name)
	}
	if !slices.IsSorted(fn.Returns) {
		t.Errorf("%s: returns not sorted: %x", fn.Name, fn.Returns)
	}
	for _, r := range fn.Returns {
		if r < fn.Offset || r >= fn.Offset+fn.Size {
			t.Errorf("%s: return at %#x outside [%#x, %#x)", fn.Name, r, fn.Offset, fn.Offset+fn.Size)
			continue
		}
		switch f.Arch() {
		case "amd64":
			if raw[r] != 0xc3 {
				t.Errorf("%s: byte at return %#x is %#x, want RET 0xc3", fn.Name, r, raw[r])
			}
		case "arm64":
			if w := binary.LittleEndian.Uint32(raw[r:]); w != 0xd65f03c0 {
				t.Errorf("%s: word at return %#x is %#x, want RET 0xd65f03c0", fn.Name, r, w)
			}
		}
	}
}

func TestFunc(t *testing.T) {
	for _, fx := range []*fixture{
		fxHTTP, fxHTTPStripped, fxPIE, fxPIEStripped, fxExtPIE, fxExtPIEStripped,
		fxARM64, fxARM64Stripped, fxGo122, fxGo122Stripped, fxGo122PIE, fxGo122PIEStrip, fxGo127, fxGo127Stripped,
	} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			for _, name := range httpFuncs {
				fn, err := f.Func(name)
				if err != nil {
					t.Errorf("Func(%q): %v", name, err)
					continue
				}
				if fn.Name != name {
					t.Errorf("Func(%q).Name = %q", name, fn.Name)
				}
				checkFunc(t, f, fn)
			}
			if _, err := f.Func("main.absent"); !errors.Is(err, ErrNoFunc) {
				t.Errorf("Func(main.absent) = %v, want ErrNoFunc", err)
			}
		})
	}
}

// TestFuncStrippedMatches compares each stripped fixture, whose functions
// come from the pclntab, with the same program built with a symbol table.
func TestFuncStrippedMatches(t *testing.T) {
	for _, pair := range [][2]*fixture{
		{fxHTTP, fxHTTPStripped},
		{fxPIE, fxPIEStripped},
		{fxExtPIE, fxExtPIEStripped},
		{fxARM64, fxARM64Stripped},
		{fxGo122, fxGo122Stripped},
		{fxGo122PIE, fxGo122PIEStrip},
		{fxGo127, fxGo127Stripped},
	} {
		t.Run(pair[1].name, func(t *testing.T) {
			full, strip := pair[0].open(t), pair[1].open(t)
			for _, name := range httpFuncs {
				want, err := full.Func(name)
				if err != nil {
					t.Fatalf("Func(%q) with symtab: %v", name, err)
				}
				got, err := strip.Func(name)
				if err != nil {
					t.Fatalf("Func(%q) stripped: %v", name, err)
				}
				if got.Addr != want.Addr || got.Offset != want.Offset || !slices.Equal(got.Returns, want.Returns) {
					t.Errorf("%s: stripped addr %#x offset %#x returns %x; with symtab %#x %#x %x",
						name, got.Addr, got.Offset, got.Returns, want.Addr, want.Offset, want.Returns)
				}
			}
		})
	}
}

// TestPclntabMatchesSymtab checks, in executables with a symbol table, that
// the pclntab path (used when there is none) gives the symbol addresses,
// and that runtime.text found through runtime.moduledata is the symbol's.
func TestPclntabMatchesSymtab(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxPIE, fxExtPIE, fxARM64, fxGo122, fxGo122PIE, fxGo127} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			tab, err := f.pclntab()
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range httpFuncs {
				sym := f.symbols()[name]
				fn := tab.lookup(name)
				if fn == nil || fn.Entry != sym.Value {
					t.Errorf("%s: pclntab entry %v, symbol %#x", name, fn, sym.Value)
				}
			}
			data, addr, err := f.findPclntab()
			if err != nil {
				t.Fatal(err)
			}
			md, ok := f.findModuledata(addr, data, nil)
			if !ok {
				t.Fatal("runtime.moduledata not found")
			}
			if want, _ := f.SymbolAddr("runtime.firstmoduledata"); md != want {
				t.Errorf("moduledata at %#x, runtime.firstmoduledata at %#x", md, want)
			}
			text, err := f.readPtr(md+moduledataText, nil)
			if want, _ := f.SymbolAddr("runtime.text"); err != nil || text != want {
				t.Errorf("moduledata.text = %#x, %v; runtime.text = %#x", text, err, want)
			}
		})
	}
}

// TestScanPclntab finds the pclntab by its header alone, as for a linker
// that leaves no .gopclntab section and no symbols.
func TestScanPclntab(t *testing.T) {
	for _, fx := range []*fixture{fxHTTPStripped, fxExtPIEStripped, fxARM64Stripped, fxGo122PIEStrip} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			want := f.ELF().Section(".gopclntab")
			if want == nil {
				want = f.ELF().Section(".data.rel.ro.gopclntab")
			}
			_, addr, err := f.scanPclntab()
			if err != nil || addr != want.Addr {
				t.Errorf("scanPclntab() = %#x, %v; .gopclntab at %#x", addr, err, want.Addr)
			}
		})
	}
}

// TestTextStartFromRelocs zeroes, in a copy of an external-linked PIE, the
// words of runtime.moduledata that have RELATIVE relocations, as lld leaves
// them, and checks that runtime.text is still found.
func TestTextStartFromRelocs(t *testing.T) {
	orig := fxExtPIEStripped.open(t)
	data, addr, err := orig.findPclntab()
	if err != nil {
		t.Fatal(err)
	}
	md, ok := orig.findModuledata(addr, data, nil)
	if !ok {
		t.Fatal("runtime.moduledata not found")
	}
	wantText, err := orig.textStart(addr, data)
	if err != nil {
		t.Fatal(err)
	}
	if s := orig.ELF().Section(".text"); s.Addr == wantText {
		t.Fatalf("runtime.text %#x is the start of .text: the fixture does not test moduledata", wantText)
	}
	relocs := orig.relativeRelocs()
	raw, err := os.ReadFile(orig.Path())
	if err != nil {
		t.Fatal(err)
	}
	zeroed := 0
	for _, field := range []uint64{0, moduledataFuncnametab, moduledataText} {
		if _, ok := relocs[md+field]; !ok {
			t.Fatalf("no relocation for moduledata+%d", field)
		}
		off := vaddrToOffset(t, orig.ELF(), md+field)
		clear(raw[off : off+8])
		zeroed++
	}
	path := t.TempDir() + "/lld-like"
	if err := os.WriteFile(path, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.textStart(addr, data)
	if err != nil || got != wantText {
		t.Errorf("textStart with zeroed moduledata = %#x, %v; want %#x", got, err, wantText)
	}
}

func vaddrToOffset(t *testing.T, ef *elf.File, addr uint64) uint64 {
	t.Helper()
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr < p.Vaddr+p.Filesz {
			return addr - p.Vaddr + p.Off
		}
	}
	t.Fatalf("address %#x not in the file", addr)
	return 0
}
