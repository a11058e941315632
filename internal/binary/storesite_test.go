package binary

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/sonde-go/auto/internal/offsets"
)

// TestStorePlacement places the goroutine probe's site in runtime.newproc1
// (after `newg.goid = ...`) on every amd64 build shape and Go version,
// and checks it against go tool objdump: the only 8-byte store to the
// goid offset, the register it names, and the first emulated instruction
// after it in a straight line.
func TestStorePlacement(t *testing.T) {
	goid := offsets.Field{Struct: "runtime.g", Name: "goid"}
	for _, c := range []struct{ full, strp *fixture }{
		{fxHTTP, fxHTTPStripped},
		{fxPIE, fxPIEStripped},
		{fxGo122, fxGo122Stripped},
		{fxGo127, fxGo127Stripped},
	} {
		t.Run(c.full.name, func(t *testing.T) {
			f := c.full.open(t)
			d, err := f.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			offs, err := offsets.FromDWARF(d, []offsets.Field{goid})
			if err != nil {
				t.Fatal(err)
			}
			off := int64(offs[goid])
			fn, err := f.Func("runtime.newproc1")
			if err != nil {
				t.Fatal(err)
			}
			p, arg, why := f.StorePlacement(fn, off, Emulation{})
			if why != "" {
				t.Fatalf("StorePlacement: %s", why)
			}
			if p.Kind != SiteStore || len(p.Sites) != 1 || !p.Sites[0].Emulated {
				t.Fatalf("placement %+v, want one emulated store site", p)
			}
			dis := objdump(t, f.Path(), "runtime.newproc1")
			store := -1
			for i, l := range dis {
				if strings.Contains(l, "\tMOVQ ") && strings.Contains(l, fmt.Sprintf(", %#x(", off)) {
					if store >= 0 {
						t.Fatalf("two stores to %#x in objdump:\n%s\n%s", off, dis[store], l)
					}
					store = i
				}
			}
			if store < 0 {
				t.Fatalf("no store to %#x in objdump", off)
			}
			reg := strings.TrimPrefix(goArgRegs[arg-1].String(), "R")
			if !strings.Contains(dis[store], fmt.Sprintf("%#x(%s)", off, reg)) && !strings.Contains(dis[store], fmt.Sprintf("%#x(R%s)", off, reg)) {
				t.Errorf("argument %d (%v), but the store is %q", arg, goArgRegs[arg-1], dis[store])
			}
			var site string
			for _, l := range dis[store+1:] {
				if a := objdumpAddr(t, l); a == p.Sites[0].Addr {
					site = l
					break
				}
			}
			if site == "" {
				t.Fatalf("site %#x is not after the store in objdump", p.Sites[0].Addr)
			}
			if !strings.Contains(site, "\tCALL ") && !strings.Contains(site, "\tJ") && !strings.Contains(site, "\tNOPL") {
				t.Errorf("site %q is not a call, branch or nop", site)
			}

			s := c.strp.open(t)
			sfn, err := s.Func("runtime.newproc1")
			if err != nil {
				t.Fatal(err)
			}
			sp, sarg, swhy := s.StorePlacement(sfn, off, Emulation{})
			if swhy != "" || sarg != arg || len(sp.Sites) != 1 || sp.Sites[0].Offset-sfn.Offset != p.Sites[0].Offset-fn.Offset {
				t.Errorf("stripped: %+v arg %d (%s), want the same site as with symbols", sp, sarg, swhy)
			}

			if _, _, why := f.StorePlacement(fn, 0x7ff8, Emulation{}); !strings.Contains(why, "no 8-byte store") {
				t.Errorf("offset with no store: %q, want a refusal", why)
			}
		})
	}
	f := fxARM64.open(t)
	fn, err := f.Func("runtime.newproc1")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, why := f.StorePlacement(fn, 0x98, Emulation{}); why != "not amd64" {
		t.Errorf("arm64: %q, want not amd64", why)
	}
}

// TestKeepsReg: the walk passes instructions that leave the tracked
// register alone and stops at any that may write it, in any width.
func TestKeepsReg(t *testing.T) {
	for _, c := range []struct {
		code []byte
		want bool
	}{
		{[]byte{0x48, 0x89, 0xf8}, true},                         // MOVQ DI, AX
		{[]byte{0xbb, 0x06, 0x00, 0x00, 0x00}, true},             // MOVL $6, BX
		{[]byte{0x48, 0x89, 0x97, 0x98, 0x00, 0x00, 0x00}, true}, // MOVQ DX, 0x98(DI)
		{[]byte{0x48, 0x8b, 0x7c, 0x24, 0x40}, false},            // MOVQ 0x40(SP), DI
		{[]byte{0x0f, 0xb6, 0x7c, 0x24, 0x78}, false},            // MOVZX 0x78(SP), EDI
		{[]byte{0x40, 0xb7, 0x01}, false},                        // MOVB $1, DIL
		{[]byte{0xf3, 0x48, 0xab}, false},                        // REP STOSQ (writes DI)
		{[]byte{0x48, 0x97}, false},                              // XCHGQ AX, DI
		{[]byte{0x66, 0x90}, true},                               // XCHGW AX, AX
		{[]byte{0x48, 0x85, 0xff}, true},                         // TESTQ DI, DI
	} {
		inst, err := x86asm.Decode(c.code, 64)
		if err != nil {
			t.Fatalf("% x: %v", c.code, err)
		}
		if got := keepsReg(inst, x86asm.RDI); got != c.want {
			t.Errorf("%v: keepsReg(RDI) = %v, want %v", inst, got, c.want)
		}
	}
}
