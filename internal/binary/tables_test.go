package binary

import (
	"debug/elf"
	"debug/gosym"
	"testing"
)

// TestPclnMatchesGosym checks that the compact pclntab gives every
// function's entry, end and name as debug/gosym reads them, and the first
// function of each name by name.
func TestPclnMatchesGosym(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxHTTPStripped, fxExtPIEStripped, fxARM64Stripped, fxGo122Stripped, fxGo127Stripped} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			tab, err := f.pclntab()
			if err != nil {
				t.Fatal(err)
			}
			data, _, err := f.findPclntab()
			if err != nil {
				t.Fatal(err)
			}
			gt, err := gosym.NewTable(nil, gosym.NewLineTable(data, tab.text))
			if err != nil {
				t.Fatal(err)
			}
			if tab.count() != len(gt.Funcs) {
				t.Fatalf("%d functions, debug/gosym %d", tab.count(), len(gt.Funcs))
			}
			first := map[string]*gosym.Func{}
			for i := range gt.Funcs {
				g, c := &gt.Funcs[i], tab.fn(i)
				if c.Entry != g.Entry || c.End != g.End || c.Name != g.Name {
					t.Fatalf("function %d: %#x-%#x %s, debug/gosym %#x-%#x %s", i, c.Entry, c.End, c.Name, g.Entry, g.End, g.Name)
				}
				if _, dup := first[g.Name]; !dup {
					first[g.Name] = g
				}
				if j, ok := tab.funcAt(g.Entry); g.End > g.Entry && (!ok || j != i) {
					t.Errorf("funcAt(%#x) = %d, %v; want %d", g.Entry, j, ok, i)
				}
			}
			for name, g := range first {
				if c := tab.lookup(name); c == nil || c.Entry != g.Entry {
					t.Fatalf("lookup(%s) = %v, debug/gosym %#x", name, c, g.Entry)
				}
			}
			if c := tab.lookup("no.such.func"); c != nil {
				t.Errorf("lookup(no.such.func) = %v", c)
			}
		})
	}
}

// TestSymbolsMatchELF checks that the symbol table read a chunk at a time
// gives, by name, the first symbol of each name that debug/elf gives.
func TestSymbolsMatchELF(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxExtPIE, fxARM64, fxGo122, fxGo127, fxHTTPStripped} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			want := map[string]elf.Symbol{}
			syms, _ := f.elf.Symbols()
			for _, s := range syms {
				if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 && !f.inCode(s.Value, s.Size) {
					continue
				}
				if _, dup := want[s.Name]; !dup && s.Name != "" {
					want[s.Name] = s
				}
			}
			got := f.symbols()
			if len(got) != len(want) {
				t.Fatalf("%d symbols, debug/elf %d", len(got), len(want))
			}
			for name, w := range want {
				if g, ok := got[name]; !ok || g.Value != w.Value || g.Size != w.Size || g.Info != w.Info {
					t.Fatalf("%s: %+v, debug/elf %+v", name, g, w)
				}
			}
		})
	}
}
