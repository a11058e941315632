package binary

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

var (
	fxSites        = fx("sites", "sitesapp")
	fxSitesARM64   = fx("sites-arm64", "sitesapp", arm64)
	fxSitesPIE     = fx("sites-pie", "sitesapp", pie)
	fxSitesPIEStrp = fx("sites-pie-stripped", "sitesapp", pie, stripped)
	fxSitesGo122   = fx("sites-go122", "sitesapp", go122)
	// Linked externally: runtime.text is not the start of .text.
	fxSitesExtLink = fx("sites-extpie", "sitesapp", cgo, pie, testenv.Flags("-ldflags=-linkmode=external"))
)

// objdump disassembles path with the Go toolchain: an independent view of
// the code to check the placement against.
func objdump(t *testing.T, path, fn string) []string {
	t.Helper()
	out, err := exec.Command("go", "tool", "objdump", "-s", "^"+regexp.QuoteMeta(fn)+"$", path).Output()
	if err != nil {
		t.Fatalf("go tool objdump %s: %v", fn, err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// objdumpAll disassembles the whole of path once per test.
func objdumpAll(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command("go", "tool", "objdump", path).Output()
	if err != nil {
		t.Fatalf("go tool objdump: %v", err)
	}
	return strings.Split(string(out), "\n")
}

// objdumpAddr is the address column of an objdump line.
func objdumpAddr(t *testing.T, line string) uint64 {
	t.Helper()
	for _, f := range strings.Fields(line) {
		if strings.HasPrefix(f, "0x") {
			v, err := strconv.ParseUint(f[2:], 16, 64)
			if err == nil {
				return v
			}
		}
	}
	t.Fatalf("no address in %q", line)
	return 0
}

func readAt(t *testing.T, path string, off uint64, n int) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw[off : off+uint64(n)]
}

// TestEntryPlacementAMD64: functions with a frame get their entry probe on
// the PUSHQ BP that follows the stack check, after the branch to the
// morestack path (whose JMP returns to the first byte: the push runs once
// per call); a frameless leaf keeps its first byte.
func TestEntryPlacementAMD64(t *testing.T) {
	for _, fx := range []*fixture{fxSites, fxSitesPIE, fxSitesPIEStrp, fxSitesGo122, fxHTTP, fxHTTPStripped, fxGo127} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			for _, name := range []string{"main.direct", "main.main", "main.measure", "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve", "main.(*api).hello"} {
				fn, err := f.Func(name)
				if err != nil {
					continue // not in this program
				}
				p := f.EntryPlacement(fn, false)
				if p.Kind != SitePush || len(p.Sites) != 1 {
					t.Errorf("%s: placement %v %v (%s), want one push", name, p.Kind, p.Sites, p.Why)
					continue
				}
				s := p.Sites[0]
				if got := readAt(t, f.Path(), s.Offset, 1)[0]; got != 0x55 || !s.Emulated || s.Again {
					t.Errorf("%s: site byte %#x emulated %v again %v, want 0x55, true, false", name, got, s.Emulated, s.Again)
				}
				if s.Addr-fn.Addr != s.Offset-fn.Offset || s.Offset <= fn.Offset {
					t.Errorf("%s: site %#x (file %#x) not after the entry %#x (file %#x)", name, s.Addr, s.Offset, fn.Addr, fn.Offset)
				}
				// Before the push: the stack check, ending with a branch to
				// the morestack path, which jumps back to the entry.
				code := readAt(t, f.Path(), fn.Offset, int(fn.Size))
				var jbe x86asm.Inst
				var at int
				for i := 0; i < int(s.Offset-fn.Offset); {
					inst, err := x86asm.Decode(code[i:], 64)
					if err != nil {
						t.Fatalf("%s+%d: %v", name, i, err)
					}
					if inst.Op == x86asm.MOV && inst.Args[0] != x86asm.R12 {
						t.Errorf("%s+%d: %v before the push writes %v", name, i, inst, inst.Args[0])
					}
					jbe, at = inst, i
					i += inst.Len
				}
				if jbe.Op != x86asm.JBE {
					t.Fatalf("%s: %v before the push, want JBE", name, jbe)
				}
				target := at + jbe.Len + int(jbe.Args[0].(x86asm.Rel))
				back := false
				for i := target; i < len(code); {
					inst, err := x86asm.Decode(code[i:], 64)
					if err != nil {
						break
					}
					if rel, ok := inst.Args[0].(x86asm.Rel); ok && inst.Op == x86asm.JMP && i+inst.Len+int(rel) == 0 {
						back = true
						break
					}
					i += inst.Len
				}
				if !back {
					t.Errorf("%s: the morestack path at +%d does not jump back to the entry", name, target)
				}
			}
			if fn, err := f.Func("main.taken"); err == nil {
				if p := f.EntryPlacement(fn, false); p.Kind != SiteFirstByte || p.Sites[0].Offset != fn.Offset {
					t.Errorf("main.taken (frameless): %v %v, want its first byte", p.Kind, p.Sites)
				}
			}
		})
	}
}

// TestEntryPlacementARM64: the entry probe is on the stack check's B.LS,
// which the arm64 kernel simulates; it runs again after morestack.
func TestEntryPlacementARM64(t *testing.T) {
	for _, fx := range []*fixture{fxSitesARM64, fxARM64, fxARM64Stripped} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			n := 0
			for _, name := range []string{"main.direct", "main.main", "net/http.serverHandler.ServeHTTP", "net/http.(*conn).serve"} {
				fn, err := f.Func(name)
				if err != nil {
					continue
				}
				n++
				p := f.EntryPlacement(fn, false)
				if p.Kind != SiteStackBranch || len(p.Sites) != 1 || !p.Sites[0].Again || !p.Sites[0].Emulated {
					t.Errorf("%s: %v %+v (%s), want the stack-check branch, again", name, p.Kind, p.Sites, p.Why)
					continue
				}
				inst, err := arm64asm.Decode(readAt(t, f.Path(), p.Sites[0].Offset, 4))
				if err != nil || inst.Op != arm64asm.B || inst.Args[0] != (arm64asm.Cond{Value: 9}) {
					t.Errorf("%s: site holds %v (%v), want B.LS", name, inst, err)
				}
				first, _ := arm64asm.Decode(readAt(t, f.Path(), fn.Offset, 4))
				if first.Op != arm64asm.LDR || !strings.Contains(first.String(), "X28") {
					t.Errorf("%s: first instruction %v, want the load of g.stackguard0", name, first)
				}
			}
			if n == 0 {
				t.Fatal("no function found")
			}
		})
	}
}

// TestReturnPlacementAMD64: a function only ever called directly gets its
// return probes on the caller side, one per CALL that go tool objdump
// shows, each on the conditional branch that tests its error; one whose
// address is in a func value or an itab keeps its RET.
func TestReturnPlacementAMD64(t *testing.T) {
	for _, fx := range []*fixture{fxSites, fxSitesPIE, fxSitesGo122, fxSitesExtLink} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			dis := objdumpAll(t, f.Path())
			var fns []Func
			for _, name := range []string{"main.direct", "main.taken", "main.square.area", "main.measure"} {
				fn, err := f.Func(name)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				fns = append(fns, fn)
			}
			f.PrepareReturns(fns)
			direct := fns[0]
			p, err := f.ReturnPlacement(direct, ReturnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The call sites and the branch after each, from objdump.
			var want []uint64
			for i, l := range dis {
				if !strings.Contains(l, "CALL main.direct(SB)") {
					continue
				}
				for _, next := range dis[i+1 : i+5] {
					if strings.Contains(next, "\tJE ") || strings.Contains(next, "\tJNE ") {
						want = append(want, objdumpAddr(t, next))
						break
					}
				}
			}
			var got []uint64
			for _, s := range p.Sites {
				got = append(got, s.Addr)
				if s.Kind != SiteCall || !s.Emulated || s.Caller != "main.main" {
					t.Errorf("site %+v, want an emulated call site in main.main", s)
				}
				b := readAt(t, f.Path(), s.Offset, 1)[0]
				if b < 0x70 || b > 0x7f {
					t.Errorf("site %#x holds %#x, want a short conditional branch", s.Addr, b)
				}
			}
			if p.Kind != SiteCall || len(want) != 2 || !slices.Equal(got, want) {
				t.Errorf("main.direct: %v at %x (%s), want call sites at %x", p.Kind, got, p.Why, want)
			}
			for _, c := range []struct {
				name string
				why  string
			}{
				{"main.taken", "address is in data"},
				{"main.square.area", "may be called indirectly"},
			} {
				fn, _ := f.Func(c.name)
				p, err := f.ReturnPlacement(fn, ReturnOptions{})
				if err != nil || p.Kind != SiteRet || !strings.Contains(p.Why, c.why) || len(p.Sites) != len(fn.Returns) {
					t.Errorf("%s: %v %v (%s), want its rets because its %s", c.name, p.Kind, err, p.Why, c.why)
				}
			}
			for _, opt := range []ReturnOptions{{ReadsSP: true}, {Classic: true}} {
				if p, _ := f.ReturnPlacement(direct, opt); p.Kind != SiteRet || p.Emulated() != 0 {
					t.Errorf("main.direct with %+v: %v, want rets (single-stepped)", opt, p.Kind)
				}
			}
		})
	}
}

// TestReturnPlacementStripped: a stripped build places the same sites as
// the same build with its symbol table (pclntab and data alone).
func TestReturnPlacementStripped(t *testing.T) {
	full, strp := fxSitesPIE.open(t), fxSitesPIEStrp.open(t)
	for _, name := range []string{"main.direct", "main.taken", "main.measure"} {
		a, err := full.Func(name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := strp.Func(name)
		if err != nil {
			t.Fatal(err)
		}
		pa, _ := full.ReturnPlacement(a, ReturnOptions{})
		pb, _ := strp.ReturnPlacement(b, ReturnOptions{})
		if pa.Kind != pb.Kind || !slices.Equal(pa.Sites, pb.Sites) {
			t.Errorf("%s: stripped %v %+v, with symbols %v %+v", name, pb.Kind, pb.Sites, pa.Kind, pa.Sites)
		}
	}
}

// TestReturnPlacementARM64: ret is simulated on arm64; the rets stay.
func TestReturnPlacementARM64(t *testing.T) {
	f := fxSitesARM64.open(t)
	fn, err := f.Func("main.direct")
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.ReturnPlacement(fn, ReturnOptions{})
	if err != nil || p.Kind != SiteRet || p.Emulated() != len(fn.Returns) || len(fn.Returns) == 0 {
		t.Fatalf("%v %v %+v, want every ret, simulated", err, p.Kind, p.Sites)
	}
	for _, s := range p.Sites {
		if w := binary.LittleEndian.Uint32(readAt(t, f.Path(), s.Offset, 4)); w != 0xd65f03c0 {
			t.Errorf("site %#x holds %#x, want RET", s.Addr, w)
		}
	}
}

func TestAMD64Emulated(t *testing.T) {
	for _, c := range []struct {
		code       []byte
		plain, new bool // emulated before 6.16, from 6.16
	}{
		{[]byte{0x55}, true, true},                           // PUSHQ BP
		{[]byte{0x41, 0x54}, true, true},                     // PUSHQ R12
		{[]byte{0x74, 0x05}, true, true},                     // JE rel8
		{[]byte{0x0f, 0x85, 1, 0, 0, 0}, true, true},         // JNE rel32
		{[]byte{0xe8, 1, 0, 0, 0}, true, true},               // CALL rel32
		{[]byte{0xeb, 0x02}, true, true},                     // JMP rel8
		{[]byte{0x90}, true, true},                           // NOP
		{[]byte{0x66, 0x90}, true, true},                     // NOPW
		{[]byte{0x0f, 0x1f, 0x44, 0x00, 0x00}, false, true},  // NOPL 0(AX)(AX*1)
		{[]byte{0x66, 0x0f, 0x1f, 0x44, 0, 0}, false, true},  // NOPW 0(AX)(AX*1)
		{[]byte{0x0f, 0x1f, 0x40, 0x08}, false, false},       // NOPL 8(AX): not an x86_nops form
		{[]byte{0xc3}, false, false},                         // RET
		{[]byte{0x48, 0x85, 0xdb}, false, false},             // TESTQ BX, BX
		{[]byte{0x49, 0x3b, 0x66, 0x10}, false, false},       // CMPQ SP, 0x10(R14)
		{[]byte{0x66, 0x0f, 0x85, 1, 0, 0, 0}, false, false}, // JNE with 0x66: refused by the kernel
		{[]byte{0xff, 0xd2}, false, false},                   // CALL DX
	} {
		inst, err := x86asm.Decode(c.code, 64)
		if err != nil {
			t.Fatalf("% x: %v", c.code, err)
		}
		if got := amd64Emulated(c.code, inst, Emulation{}); got != c.plain {
			t.Errorf("% x (%v): emulated %v before 6.16, want %v", c.code, inst, got, c.plain)
		}
		if got := amd64Emulated(c.code, inst, Emulation{NOPL: true}); got != c.new {
			t.Errorf("% x (%v): emulated %v from 6.16, want %v", c.code, inst, got, c.new)
		}
	}
}

func TestUnmarkedMethod(t *testing.T) {
	le := func(ws ...uint32) []byte {
		var b []byte
		for _, w := range ws {
			b = binary.LittleEndian.AppendUint32(b, w)
		}
		return b
	}
	const off, none = 0x1234, 0xffffffff
	for _, c := range []struct {
		b    []byte
		i    uint64
		want bool
	}{
		{le(7, none, off, off), 8, true},  // Ifn, Mtyp -1
		{le(7, none, off, off), 12, true}, // Tfn, Mtyp -1
		{le(7, 9, off, off), 8, false},    // a method with its type
		{le(7, 9, off, off), 12, false},
		{le(off), 0, false}, // a lone word
		{le(none, 9, off, 5), 8, false},
	} {
		if got := unmarkedMethod(c.b, c.i, off); got != c.want {
			t.Errorf("unmarkedMethod(% x, %d) = %v, want %v", c.b, c.i, got, c.want)
		}
	}
}

// TestReturnPlacementGOnly: net/http's serverHandler.ServeHTTP has a
// method table entry (its rets are kept) unless the probe vouches for it;
// then a program that reads only g moves past the call through a register
// after the handler (w.cancelCtx()) to the next direct call in (*conn).serve,
// while a program that reads registers stops at the return address. Go
// 1.27 passes serverHandler as a Handler: its itab is in data, the rets
// stay whatever the probe says.
func TestReturnPlacementGOnly(t *testing.T) {
	for _, fx := range []*fixture{fxHTTP, fxGo122, fxGo127} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			fn, err := f.Func("net/http.serverHandler.ServeHTTP")
			if err != nil {
				t.Fatal(err)
			}
			if fx == fxGo127 {
				p, _ := f.ReturnPlacement(fn, ReturnOptions{GOnly: true, MethodTable: true})
				if p.Kind != SiteRet || !strings.Contains(p.Why, "address is in data") {
					t.Errorf("Go 1.27: %v (%s), want rets: an itab holds it", p.Kind, p.Why)
				}
				return
			}
			if p, _ := f.ReturnPlacement(fn, ReturnOptions{GOnly: true}); p.Kind != SiteRet || !strings.Contains(p.Why, "method table") {
				t.Errorf("without MethodTable: %v (%s), want rets for the method table entry", p.Kind, p.Why)
			}
			p, err := f.ReturnPlacement(fn, ReturnOptions{GOnly: true, MethodTable: true})
			if err != nil {
				t.Fatal(err)
			}
			var serve []Site
			for _, s := range p.Sites {
				if s.Caller == "net/http.(*conn).serve" {
					serve = append(serve, s)
				}
			}
			if p.Kind != SiteCall || len(serve) != 1 || !serve[0].Emulated {
				t.Fatalf("GOnly: %v %+v (%s), want an emulated site in (*conn).serve", p.Kind, p.Sites, p.Why)
			}
			if b := readAt(t, f.Path(), serve[0].Offset, 1)[0]; b != 0xe8 {
				t.Errorf("site in (*conn).serve holds %#x, want a direct call", b)
			}
			regs, _ := f.ReturnPlacement(fn, ReturnOptions{MethodTable: true})
			for _, s := range regs.Sites {
				if s.Caller == "net/http.(*conn).serve" && s.Emulated {
					t.Errorf("a program reading registers moved past the handler's call through a register: %+v", s)
				}
			}
		})
	}
}
