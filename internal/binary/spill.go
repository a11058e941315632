package binary

import (
	"fmt"
	"math/bits"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// RegSet is a set of amd64 general registers: bit i for the 64-bit
// register x86asm.RAX+i (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8..R15).
type RegSet uint16

// The amd64 general registers as RegSet members.
const (
	RAX RegSet = 1 << iota
	RCX
	RDX
	RBX
	RSP
	RBP
	RSI
	RDI
	R8
	R9
	R10
	R11
	R12
	R13
	R14
	R15
)

// ABIRegs are the amd64 ABIInternal integer argument and result
// registers in order: ABIRegs[n-1] holds the nth (sonde/regs.h go_arg).
var ABIRegs = [...]RegSet{RAX, RBX, RCX, RDI, RSI, R8, R9, R10, R11}

// regBit is the RegSet member of the general register r of any width,
// 0 for any other register (vector, segment, instruction pointer).
func regBit(r x86asm.Reg) RegSet {
	f := regFamily(r)
	if f < x86asm.RAX || f > x86asm.R15 {
		return 0
	}
	return 1 << (f - x86asm.RAX)
}

func (s RegSet) String() string {
	var names []string
	for r := s; r != 0; r &= r - 1 {
		names = append(names, (x86asm.RAX + x86asm.Reg(bits.TrailingZeros16(uint16(r)))).String())
	}
	return strings.Join(names, ",")
}

// MaxSpillOff bounds the SP offsets of the stack slots a call site may
// name for a result (Site.Slot): the attach cookie's byte for a result
// holds offset/8+1 (sonde/retarg.h), so slots are 8-aligned and below
// 254*8.
const MaxSpillOff = 254 * 8

// spillWalk follows, along the instructions walked from a call's return
// address, where each result register the return program reads is: in
// its register until an instruction writes that register, and, once the
// caller has stored it whole to its frame (MOVQ reg, off(SP)), also at
// SP+off until a store overlaps that slot. An instruction that would
// leave a read result nowhere, or whose effect the walk does not model,
// ends the walk before it.
type spillWalk struct {
	known bool   // opt.RegsKnown: registers outside reads are not read
	reads RegSet // read from the context: must stay where the site says
	spill RegSet // of reads: may be read from a stack slot
	// gone are the reads no longer in their register; slot is the SP
	// offset of the result in slotted.
	gone, slotted RegSet
	slot          [16]int64
}

func newSpillWalk(opt ReturnOptions) spillWalk {
	w := spillWalk{known: opt.RegsKnown, reads: opt.Reads | R14, spill: opt.Spill & opt.Reads}
	if !w.known {
		w.spill = 0
	}
	return w
}

// pass reports whether the walk may go past inst, updating w; w is
// unchanged when it may not.
func (w *spillWalk) pass(inst x86asm.Inst) bool {
	next := *w
	if !next.step(inst) {
		return false
	}
	*w = next
	return true
}

func (w *spillWalk) step(inst x86asm.Inst) bool {
	switch inst.Op {
	case x86asm.TEST, x86asm.CMP, x86asm.NOP:
		return true
	case x86asm.XCHG: // XCHGL AX, AX: Go's inline mark
		return inst.Args[0] == inst.Args[1] && inst.Args[0] != nil
	}
	if !writesArg0Only(inst) {
		return false
	}
	switch dst := inst.Args[0].(type) {
	case x86asm.Mem:
		return w.store(inst, dst)
	case x86asm.Reg:
		r := regBit(dst)
		switch {
		case r == 0:
			// A vector register, which no return program reads (pt_regs
			// has none); any other the walk does not know ends it.
			return dst >= x86asm.X0 && dst <= x86asm.X15
		case r == RSP || r == R14:
			return false // SP: the slots move; g
		case !w.known:
			return false
		case r&w.reads == 0:
			return true
		case r&w.slotted == 0:
			return false // a result overwritten before it was stored
		}
		w.gone |= r
		return true
	}
	return false
}

// store follows a store to m: it must be SP-relative (the caller's frame;
// a store through another register may alias a slot); it ends the slots
// it overlaps, and a MOVQ of a spillable result still in its register
// makes its destination that result's slot.
func (w *spillWalk) store(inst x86asm.Inst, m x86asm.Mem) bool {
	if m.Base != x86asm.RSP || m.Segment != 0 {
		return false
	}
	size := int64(inst.MemBytes)
	for s := w.slotted; s != 0; s &= s - 1 {
		r := s & -s
		i := bits.TrailingZeros16(uint16(r))
		if m.Index != 0 || size <= 0 || m.Disp < w.slot[i]+8 && w.slot[i] < m.Disp+size {
			if r&w.gone != 0 {
				return false // the only copy of a result
			}
			w.slotted &^= r
		}
	}
	src, ok := inst.Args[1].(x86asm.Reg)
	r := regBit(src)
	if ok && inst.Op == x86asm.MOV && m.Index == 0 && size == 8 && src == regFamily(src) &&
		r&w.spill != 0 && r&w.gone == 0 && m.Disp >= 0 && m.Disp%8 == 0 && m.Disp < MaxSpillOff {
		w.slotted |= r
		w.slot[bits.TrailingZeros16(uint16(r))] = m.Disp
	}
	return true
}

// writesArg0Only reports an instruction whose only effect but flags is
// to write its first operand (a register or memory): moves, loads of an
// address, integer arithmetic with an explicit destination, conditional
// moves and sets, and vector moves. Anything else (implicit registers,
// SP, branches, calls) is not in the list.
func writesArg0Only(inst x86asm.Inst) bool {
	switch inst.Op {
	case x86asm.MOV, x86asm.MOVZX, x86asm.MOVSX, x86asm.MOVSXD, x86asm.LEA,
		x86asm.ADD, x86asm.SUB, x86asm.AND, x86asm.OR, x86asm.XOR, x86asm.ADC, x86asm.SBB,
		x86asm.SHL, x86asm.SHR, x86asm.SAR, x86asm.ROL, x86asm.ROR,
		x86asm.INC, x86asm.DEC, x86asm.NEG, x86asm.NOT, x86asm.BSWAP,
		x86asm.POPCNT, x86asm.LZCNT, x86asm.TZCNT, x86asm.BSF, x86asm.BSR,
		x86asm.CMOVA, x86asm.CMOVAE, x86asm.CMOVB, x86asm.CMOVBE, x86asm.CMOVE, x86asm.CMOVG,
		x86asm.CMOVGE, x86asm.CMOVL, x86asm.CMOVLE, x86asm.CMOVNE, x86asm.CMOVNO, x86asm.CMOVNP,
		x86asm.CMOVNS, x86asm.CMOVO, x86asm.CMOVP, x86asm.CMOVS,
		x86asm.SETA, x86asm.SETAE, x86asm.SETB, x86asm.SETBE, x86asm.SETE, x86asm.SETG,
		x86asm.SETGE, x86asm.SETL, x86asm.SETLE, x86asm.SETNE, x86asm.SETNO, x86asm.SETNP,
		x86asm.SETNS, x86asm.SETO, x86asm.SETP, x86asm.SETS,
		x86asm.MOVQ, x86asm.MOVD, x86asm.MOVUPS, x86asm.MOVAPS, x86asm.MOVSD_XMM, x86asm.MOVSS,
		x86asm.MOVDQU, x86asm.PXOR, x86asm.XORPS:
	case x86asm.IMUL:
		// The two- and three-operand forms; the one-operand form writes
		// RDX:RAX.
		if inst.Args[1] == nil {
			return false
		}
	default:
		return false
	}
	return inst.Args[0] != nil
}

// site writes where each read result is at the end of the walk into s.
func (w *spillWalk) site(s *Site) {
	s.Spilled = w.gone
	for r := w.gone; r != 0; r &= r - 1 {
		i := bits.TrailingZeros16(uint16(r))
		s.SpillOff[i] = int32(w.slot[i])
	}
}

// Slot returns the SP offset of the stack slot that holds, at s, the
// result the callee returned in r; ok is false where it is still in r.
func (s Site) Slot(r RegSet) (off int64, ok bool) {
	if s.Spilled&r == 0 || bits.OnesCount16(uint16(r)) != 1 {
		return 0, false
	}
	return int64(s.SpillOff[bits.TrailingZeros16(uint16(r))]), true
}

// spillText describes the results sites read from the caller's frame.
func spillText(sites []Site) string {
	var parts []string
	for _, s := range sites {
		if s.Spilled == 0 {
			continue
		}
		var slots []string
		for n, r := range ABIRegs {
			if off, ok := s.Slot(r); ok {
				slots = append(slots, fmt.Sprintf("result %d (%v) from its spill slot SP+%#x", n+1, r, off))
			}
		}
		parts = append(parts, fmt.Sprintf("at %#x in %s, %s", s.Addr, s.Caller, strings.Join(slots, ", ")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "; overwritten by the caller before the site, read from its frame: " + strings.Join(parts, "; ")
}
