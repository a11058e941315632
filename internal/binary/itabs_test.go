package binary

import (
	"regexp"
	"strings"
	"testing"
)

// localType matches an itab of a type declared inside a function
// (net/http.I.4).
var localType = regexp.MustCompile(`\.[A-Za-z_]\w*\.\d+[,]|\.\d+$`)

// TestItabsWithoutSymbols rebuilds every itab's symbol name from the itab
// list and the type descriptors (.itablink, .rodata) and checks it against
// the symbol table: same name, same address, for every itab symbol.
func TestItabsWithoutSymbols(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxPIE, fxExtPIE, fxARM64, fxGo122, fxGo127} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			ti := f.typeInfo()
			if ti.err != nil {
				t.Fatal(ti.err)
			}
			want := 0
			for name, s := range f.symbols() {
				rest, ok := strings.CutPrefix(name, "go:itab.")
				if !ok {
					rest, ok = strings.CutPrefix(name, "go.itab.")
				}
				if !ok {
					continue
				}
				if strings.Contains(rest, "{") || localType.MatchString(rest) {
					continue // anonymous interfaces and function-local types: named differently in the symbol table
				}
				want++
				if got, ok := ti.itabs[rest]; !ok || got != s.Value {
					t.Errorf("itab %s: symbol at %#x, itab list gives %#x (found %v)", rest, s.Value, got, ok)
				}
			}
			if want == 0 && len(ti.itabs) > 100 {
				// Go 1.27 names no itab in its symbol table: every one
				// of them came from the type data.
				want = len(ti.itabs)
			}
			if want < 50 || len(ti.itabs) < want {
				t.Fatalf("%d itab symbols, %d itabs from the list", want, len(ti.itabs))
			}
			t.Logf("%d itabs, all named as in the symbol table", want)
			for _, c := range [][2]string{{"*context.cancelCtx", "context.Context"}, {"*bufio.Writer", "io.Writer"}, {"*net/http.response", "net/http.ResponseWriter"}} {
				if _, ok := ti.itabs[c[0]+","+c[1]]; !ok {
					t.Errorf("no itab %s,%s", c[0], c[1])
				}
			}
		})
	}
}

// TestItabStripped finds the itabs of a -s -w build at the addresses of
// the same program's symbols.
func TestItabStripped(t *testing.T) {
	for _, pair := range [][2]*fixture{{fxHTTP, fxHTTPStripped}, {fxPIE, fxPIEStripped}, {fxGo122, fxGo122Stripped}, {fxARM64, fxARM64Stripped}} {
		t.Run(pair[1].name, func(t *testing.T) {
			full, stripped := pair[0].open(t), pair[1].open(t)
			if stripped.HasSymtab() {
				t.Fatal("stripped fixture has a symbol table")
			}
			n := 0
			for rest, addr := range full.typeInfo().itabs {
				typ, iface, _ := strings.Cut(rest, ",")
				sym, ok := full.Itab(typ, iface)
				got, ok2 := stripped.Itab(typ, iface)
				if !ok || !ok2 || got != sym || got != addr {
					t.Errorf("%s: symbol %#x (%v), stripped %#x (%v)", rest, sym, ok, got, ok2)
				}
				if stripped.ItabType(got) != typ {
					t.Errorf("ItabType(%#x) = %q, want %q", got, stripped.ItabType(got), typ)
				}
				n++
			}
			t.Logf("%d itabs at the same addresses", n)
		})
	}
}
