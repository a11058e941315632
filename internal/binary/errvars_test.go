package binary

import "testing"

// TestErrorVars finds the standard errors.New sentinels by message in the
// static data, at the addresses the symbol table gives them, and at the
// same place of .data in the stripped build.
func TestErrorVars(t *testing.T) {
	for _, pair := range [][2]*fixture{{fxHTTP, fxHTTPStripped}, {fxGo122, fxGo122Stripped}, {fxARM64, fxARM64Stripped}, {fxPIE, fxPIEStripped}} {
		t.Run(pair[1].name, func(t *testing.T) {
			full, stripped := pair[0].open(t), pair[1].open(t)
			for sym, msg := range map[string]string{"io.EOF": "EOF", "context.Canceled": "context canceled", "io.ErrUnexpectedEOF": "unexpected EOF"} {
				want, ok := full.SymbolAddr(sym)
				if !ok {
					t.Fatalf("no symbol %s", sym)
				}
				got, ok := full.ErrorVars()[msg]
				if !ok || got.Addr != want {
					t.Errorf("%s: ErrorVars gives %+v (%v), symbol at %#x", sym, got, ok, want)
				}
				sv, ok := stripped.ErrorVars()[msg]
				fd, sd := full.elf.Section(".data"), stripped.elf.Section(".data")
				if !ok || sv.Addr-sd.Addr != want-fd.Addr {
					t.Errorf("%s in the stripped build: %+v (%v), want .data+%#x", sym, sv, ok, want-fd.Addr)
				}
			}
		})
	}
}
