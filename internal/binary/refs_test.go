package binary

import (
	"debug/dwarf"
	"path/filepath"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func globalsFixture(t *testing.T, name string, opts ...testenv.Option) *File {
	t.Helper()
	opts = append([]testenv.Option{testenv.Name(name)}, opts...)
	f, err := Open(testenv.Build(t, filepath.Join("testdata", "globals"), opts...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// runtimeTypeOf returns the type descriptor address DWARF gives typ
// (DW_AT_go_runtime_type, an offset from runtime.types).
func runtimeTypeOf(t *testing.T, f *File, typ string) uint64 {
	t.Helper()
	d, err := f.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			t.Fatalf("no DWARF type %s (%v)", typ, err)
		}
		if n, _ := e.Val(dwarf.AttrName).(string); n == typ {
			if v, ok := e.Val(dwarf.Attr(0x2904)).(uint64); ok {
				return f.typeInfo().types + v
			}
		}
	}
}

// TestGlobalAndTypeRefs finds a global variable and a type descriptor from
// the code that uses them, and checks them against the symbol table and
// DWARF of the same program, and the stripped build against the full one.
func TestGlobalAndTypeRefs(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{
		{"globals", nil},
		{"globals-arm64", []testenv.Option{arm64}},
		{"globals-pie", []testenv.Option{pie}},
		{"globals-go122", []testenv.Option{go122}},
		{"globals-go127", []testenv.Option{go127Bin}},
	} {
		t.Run(c.name, func(t *testing.T) {
			full := globalsFixture(t, c.name, c.opts...)
			stripped := globalsFixture(t, c.name+"-stripped", append(c.opts, stripped)...)
			want, ok := full.SymbolAddr("main.flag")
			if !ok {
				t.Fatal("no main.flag symbol")
			}
			// Some toolchains lay a stripped build's data out a few
			// bytes apart: compare offsets in the variable's section.
			sec := full.sectionOf(want)
			for _, f := range []*File{full, stripped} {
				got, err := f.GlobalRef("main.read")
				s := f.sectionOf(got)
				if err != nil || s == nil || s.Name != sec.Name || got-s.Addr != want-sec.Addr {
					t.Fatalf("GlobalRef(main.read) = %#x, %v; want main.flag at %s+%#x", got, err, sec.Name, want-sec.Addr)
				}
			}
			for _, f := range []*File{full, stripped} {
				got, err := f.GlobalArg("main.passes", "main.use")
				s := f.sectionOf(got)
				if err != nil || s == nil || s.Name != sec.Name || got-s.Addr != want-sec.Addr {
					t.Fatalf("GlobalArg(main.passes, main.use) = %#x, %v; want main.flag at %s+%#x", got, err, sec.Name, want-sec.Addr)
				}
				if _, err := f.GlobalRef("main.passes"); err == nil {
					t.Error("main.passes reads two globals but GlobalRef returned one")
				}
			}
			wantType := runtimeTypeOf(t, full, "main.key") - full.typeInfo().types
			for _, f := range []*File{full, stripped} {
				got, err := f.TypeRef("main.withKey", "main.key")
				if err != nil || got-f.typeInfo().types != wantType {
					t.Fatalf("TypeRef(main.withKey, main.key) = %#x, %v; want runtime.types+%#x", got, err, wantType)
				}
			}
			if _, err := stripped.GlobalRef("main.main"); err == nil {
				t.Error("main.main references several globals but one was returned")
			}
		})
	}
}
