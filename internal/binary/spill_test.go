package binary

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/arch/x86/x86asm"
)

var (
	fxSpill      = fx("spill", "spillapp")
	fxSpillGo122 = fx("spill-go122", "spillapp", go122)
	fxSpillGo127 = fx("spill-go127", "spillapp", go127Bin)
	fxSpillPIE   = fx("spill-pie", "spillapp", pie)
)

// errRegs are the registers of a program that reads a (T, error)
// function's error (results 2 and 3) through ret_arg, and g.
var errRegs = ReturnOptions{RegsKnown: true, Reads: RBX | RCX | R14, Spill: RBX | RCX}

var (
	objdumpText  = regexp.MustCompile(`^TEXT (\S+)\(SB\)`)
	objdumpSpill = regexp.MustCompile(`^MOVQ (BX|CX), (0x[0-9a-f]+)\(SP\)$`)
	objdumpWrite = regexp.MustCompile(`, (BX|CX)$`)
)

// objdumpInst is the instruction column of an objdump line.
func objdumpInst(line string) string {
	f := strings.Split(line, "\t")
	for i := len(f) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(f[i]); s != "" {
			return s
		}
	}
	return ""
}

// objdumpBytes is the hex column of an objdump line.
func objdumpBytes(line string) string {
	f := strings.Fields(line)
	for i, s := range f {
		if strings.HasPrefix(s, "0x") && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// wantSite is where, from go tool objdump, the return site of the call
// at line i of dis goes for a program reading BX and CX through ret_arg:
// the first direct call, branch, push or one-byte nop after it (what
// every kernel emulates) where each of BX and CX was stored whole to the
// frame before an instruction overwrote it (then its slot), else the
// return address.
func wantSite(t *testing.T, dis []string, i int) (addr uint64, emulated bool, slots map[string]int64) {
	t.Helper()
	slots = map[string]int64{}
	stored := map[string]int64{}
	for _, l := range dis[i+1:] {
		inst := objdumpInst(l)
		if strings.HasPrefix(inst, "CALL main.") || strings.HasPrefix(inst, "PUSHQ ") || strings.HasPrefix(inst, "J") ||
			objdumpBytes(l) == "90" || objdumpBytes(l) == "6690" {
			return objdumpAddr(t, l), true, slots
		}
		if m := objdumpSpill.FindStringSubmatch(inst); m != nil {
			if _, gone := slots[m[1]]; !gone {
				off, _ := strconv.ParseInt(m[2][2:], 16, 64)
				stored[m[1]] = off
			}
			continue
		}
		if m := objdumpWrite.FindStringSubmatch(inst); m != nil {
			off, ok := stored[m[1]]
			if !ok {
				return objdumpAddr(t, dis[i+1]), false, map[string]int64{}
			}
			slots[m[1]] = off
		}
	}
	t.Fatalf("no site after %q", dis[i])
	return 0, false, nil
}

// TestReturnPlacementSpill: on real code (testdata/spillapp), a program
// that reads the error through ret_arg gets its site on the caller's next
// direct call where the caller stored both error words before
// overwriting them (useErr), with the slots that go tool objdump shows;
// where the caller overwrites the data word without storing it (use: it
// tests the type word only) the site stays at the return address. A
// program reading only the type word moves in use too; without Spill (no
// attach cookies) nothing moves past an overwrite.
func TestReturnPlacementSpill(t *testing.T) {
	for _, fx := range []*fixture{fxSpill, fxSpillGo122, fxSpillGo127, fxSpillPIE} {
		t.Run(fx.name, func(t *testing.T) {
			f := fx.open(t)
			dis := objdumpAll(t, f.Path())
			fn, err := f.Func("main.lookup")
			if err != nil {
				t.Fatal(err)
			}
			f.PrepareReturns([]Func{fn})
			p, err := f.ReturnPlacement(fn, errRegs)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != SiteCall || len(p.Sites) != 2 {
				t.Fatalf("%v %+v (%s), want two call sites", p.Kind, p.Sites, p.Why)
			}
			bySite := map[string]Site{}
			for _, s := range p.Sites {
				bySite[s.Caller] = s
			}
			caller, seen := "", map[string]bool{}
			for i, l := range dis {
				if m := objdumpText.FindStringSubmatch(l); m != nil {
					caller = m[1]
				}
				if !strings.Contains(l, "CALL main.lookup(SB)") {
					continue
				}
				seen[caller] = true
				addr, emulated, slots := wantSite(t, dis, i)
				s, ok := bySite[caller]
				if !ok {
					t.Errorf("no site in %s", caller)
					continue
				}
				if s.Addr != addr || s.Emulated != emulated {
					t.Errorf("%s: site %#x emulated %v, want %#x %v (%s)", caller, s.Addr, s.Emulated, addr, emulated, p.Why)
				}
				for name, r := range map[string]RegSet{"BX": RBX, "CX": RCX} {
					off, spilled := s.Slot(r)
					want, wantSpilled := slots[name]
					if spilled != wantSpilled || off != want {
						t.Errorf("%s: %s at SP+%#x (%v), want SP+%#x (%v)", caller, name, off, spilled, want, wantSpilled)
					}
				}
				if emulated {
					if b := readAt(t, f.Path(), s.Offset, 1)[0]; b != 0xe8 && b != 0x90 && b != 0x66 {
						t.Errorf("%s: site holds %#x, want a direct call or a nop", caller, b)
					}
				}
			}
			use, useErr := bySite["main.use"], bySite["main.useErr"]
			if !seen["main.use"] || !seen["main.useErr"] || use.Emulated || use.Spilled != 0 || !useErr.Emulated || useErr.Spilled != RBX|RCX {
				t.Errorf("use %+v, useErr %+v: want the return address in use, both words from the frame in useErr", use, useErr)
			}
			if !strings.Contains(p.Why, "result 2 (RBX) from its spill slot SP+") || !strings.Contains(p.Why, "in main.useErr") {
				t.Errorf("why %q does not name the slots", p.Why)
			}

			// Only the type word: use moves too.
			itab := ReturnOptions{RegsKnown: true, Reads: RBX | R14, Spill: RBX}
			p, _ = f.ReturnPlacement(fn, itab)
			wantBX, _ := useErr.Slot(RBX)
			for _, s := range p.Sites {
				off, ok := s.Slot(RBX)
				if !s.Emulated || !ok || s.Spilled != RBX || s.Caller == "main.useErr" && off != wantBX {
					t.Errorf("type word only: %+v, want an emulated site with BX from the frame", s)
				}
			}
			// Without Spill, or registers not known: the return addresses.
			for _, opt := range []ReturnOptions{{RegsKnown: true, Reads: RBX | RCX | R14}, {Spill: RBX | RCX}, {}} {
				p, _ := f.ReturnPlacement(fn, opt)
				for _, s := range p.Sites {
					if s.Emulated || s.Spilled != 0 {
						t.Errorf("%+v: site %+v, want the return address", opt, s)
					}
				}
			}
		})
	}
}

// TestSpillWalk: which instructions the walk from a return address
// passes for a program that reads BX and CX through ret_arg, and where it
// then finds them.
func TestSpillWalk(t *testing.T) {
	var (
		spillBX    = []byte{0x48, 0x89, 0x5c, 0x24, 0x18}                   // MOVQ BX, 0x18(SP)
		spillCX    = []byte{0x48, 0x89, 0x4c, 0x24, 0x28}                   // MOVQ CX, 0x28(SP)
		writeBX    = []byte{0x48, 0x8d, 0x1c, 0x00}                         // LEAQ 0(AX)(AX*1), BX
		writeCX    = []byte{0x48, 0x8d, 0x0c, 0x40}                         // LEAQ 0(AX)(AX*2), CX
		reloadBX   = []byte{0x48, 0x8b, 0x5c, 0x24, 0x18}                   // MOVQ 0x18(SP), BX
		zeroSlot   = []byte{0x48, 0xc7, 0x44, 0x24, 0x18, 0, 0, 0, 0}       // MOVQ $0, 0x18(SP)
		nextSlot   = []byte{0x48, 0xc7, 0x44, 0x24, 0x20, 0, 0, 0, 0}       // MOVQ $0, 0x20(SP)
		halfSpill  = []byte{0x89, 0x5c, 0x24, 0x18}                         // MOVL BX, 0x18(SP)
		oddSpill   = []byte{0x48, 0x89, 0x5c, 0x24, 0x1c}                   // MOVQ BX, 0x1c(SP)
		heapStore  = []byte{0x48, 0x89, 0x02}                               // MOVQ AX, 0(DX)
		indexStore = []byte{0x48, 0x89, 0x44, 0xcc, 0x10}                   // MOVQ AX, 0x10(SP)(CX*8)
		wideStore  = []byte{0x44, 0x0f, 0x11, 0x7c, 0x24, 0x10}             // MOVUPS X15, 0x10(SP)
		moveSP     = []byte{0x48, 0x83, 0xc4, 0x08}                         // ADDQ $8, SP
		writeDX    = []byte{0xba, 0x01, 0x00, 0x00, 0x00}                   // MOVL $1, DX
		writeG     = []byte{0x49, 0x89, 0xc6}                               // MOVQ AX, R14
		callDX     = []byte{0xff, 0xd2}                                     // CALL DX
		mulDX      = []byte{0x48, 0xf7, 0xe3}                               // MULQ BX (writes DX:AX)
		testBX     = []byte{0x48, 0x85, 0xdb}                               // TESTQ BX, BX
		loadXMM    = []byte{0xf3, 0x0f, 0x6f, 0x44, 0x24, 0x30}             // MOVDQU 0x30(SP), X0
		movAbs     = []byte{0x48, 0x89, 0x1d, 0x00, 0x00, 0x00, 0x00}       // MOVQ BX, 0(IP)
		farSpill   = []byte{0x48, 0x89, 0x9c, 0x24, 0x00, 0x08, 0x00, 0x00} // MOVQ BX, 0x800(SP)
	)
	type loc = map[RegSet]int64
	for _, c := range []struct {
		name   string
		opt    ReturnOptions
		code   [][]byte
		passed int // instructions passed
		slots  loc // of the results not in their register after them
	}{
		{"stored, then overwritten", errRegs, [][]byte{spillBX, spillCX, writeBX, writeCX, writeDX}, 5, loc{RBX: 0x18, RCX: 0x28}},
		{"overwritten before it is stored", errRegs, [][]byte{spillBX, writeBX, writeCX, spillCX}, 2, loc{RBX: 0x18}},
		{"stored, reloaded", errRegs, [][]byte{spillBX, reloadBX, testBX}, 3, loc{RBX: 0x18}},
		{"its slot overwritten after", errRegs, [][]byte{spillBX, writeBX, zeroSlot}, 2, loc{RBX: 0x18}},
		{"its slot overwritten before", errRegs, [][]byte{spillBX, zeroSlot, writeBX}, 2, loc{}},
		{"the next slot written", errRegs, [][]byte{spillBX, writeBX, nextSlot}, 3, loc{RBX: 0x18}},
		{"a 16-byte store over it", errRegs, [][]byte{spillBX, writeBX, wideStore}, 2, loc{RBX: 0x18}},
		{"4 bytes stored", errRegs, [][]byte{halfSpill, writeBX}, 1, loc{}},
		{"unaligned slot", errRegs, [][]byte{oddSpill, writeBX}, 1, loc{}},
		{"slot beyond a cookie byte", errRegs, [][]byte{farSpill, writeBX}, 1, loc{}},
		{"stored to a global", errRegs, [][]byte{movAbs}, 0, loc{}},
		{"a store through another register", errRegs, [][]byte{spillBX, writeBX, heapStore}, 2, loc{RBX: 0x18}},
		{"an indexed stack store", errRegs, [][]byte{spillBX, writeBX, indexStore}, 2, loc{RBX: 0x18}},
		{"an indexed stack store while in its register", errRegs, [][]byte{spillBX, indexStore, writeBX}, 2, loc{}},
		{"SP moves", errRegs, [][]byte{spillBX, writeBX, moveSP}, 2, loc{RBX: 0x18}},
		{"g written", errRegs, [][]byte{writeG}, 0, loc{}},
		{"a call through a register", errRegs, [][]byte{writeDX, callDX}, 1, loc{}},
		{"implicit register writes", errRegs, [][]byte{mulDX}, 0, loc{}},
		{"vector load", errRegs, [][]byte{loadXMM, testBX}, 2, loc{}},
		{"registers not known", ReturnOptions{}, [][]byte{spillBX, testBX, writeDX}, 2, loc{}},
		{"registers not known, no spill", ReturnOptions{Spill: RBX | RCX}, [][]byte{spillBX, writeBX}, 1, loc{}},
		{"read directly", ReturnOptions{RegsKnown: true, Reads: RBX | RCX | R14}, [][]byte{spillBX, writeDX, writeBX}, 2, loc{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newSpillWalk(c.opt)
			passed := 0
			for _, b := range c.code {
				inst, err := x86asm.Decode(b, 64)
				if err != nil || inst.Len != len(b) {
					t.Fatalf("% x: %v (%d bytes)", b, err, inst.Len)
				}
				if !w.pass(inst) {
					break
				}
				passed++
			}
			var s Site
			w.site(&s)
			got := loc{}
			for r := s.Spilled; r != 0; r &= r - 1 {
				off, _ := s.Slot(r & -r)
				got[r&-r] = off
			}
			if passed != c.passed || len(got) != len(c.slots) {
				t.Fatalf("passed %d, slots %v; want %d, %v", passed, got, c.passed, c.slots)
			}
			for r, off := range c.slots {
				if got[r] != off {
					t.Errorf("%v at SP+%#x, want SP+%#x", r, got[r], off)
				}
			}
		})
	}
}
