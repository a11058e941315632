package binary

import (
	"fmt"
	"slices"

	"golang.org/x/arch/x86/x86asm"
)

// goArgRegs are amd64's integer argument registers in ABIInternal order:
// argument n is goArgRegs[n-1] (sonde/regs.h, go_arg).
var goArgRegs = []x86asm.Reg{x86asm.RAX, x86asm.RBX, x86asm.RCX, x86asm.RDI, x86asm.RSI, x86asm.R8, x86asm.R9, x86asm.R10, x86asm.R11}

// maxStoreWalk bounds the instructions walked from a store to its site.
const maxStoreWalk = 12

// StorePlacement returns the site of a probe that runs inside fn once fn
// has stored a field at offset off of a struct (amd64): the first
// emulated instruction after fn's only 8-byte store to off(R), reached in
// a straight line (no branch and no branch target in between, R never
// written), and arg, the ABIInternal argument number of R, that the
// program reads the struct's address from. It fails (ok false, why) when
// fn has no such store or more than one, or when no emulated instruction
// follows it that way: the caller then keeps its return probe.
func (f *File) StorePlacement(fn Func, off int64, e Emulation) (p Placement, arg int, why string) {
	if f.arch != "amd64" {
		return Placement{}, 0, "not amd64"
	}
	ix := f.siteIndex()
	if ix.err != nil {
		return Placement{}, 0, "code not analyzed: " + ix.err.Error()
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	gf, ok := ix.funcAt(fn.Addr)
	if !ok {
		return Placement{}, 0, "function not in the pclntab"
	}
	d := ix.decode(gf)
	if d.err != nil {
		return Placement{}, 0, "does not disassemble: " + d.err.Error()
	}
	store, base := -1, x86asm.Reg(0)
	for i, inst := range d.insts {
		m, ok := inst.Args[0].(x86asm.Mem)
		if inst.Op != x86asm.MOV || !ok || inst.MemBytes != 8 || m.Disp != off || m.Index != 0 || m.Segment != 0 {
			continue
		}
		if store >= 0 {
			return Placement{}, 0, fmt.Sprintf("more than one 8-byte store to offset %#x", off)
		}
		store, base = i, m.Base
	}
	if store < 0 {
		return Placement{}, 0, fmt.Sprintf("no 8-byte store to offset %#x", off)
	}
	arg = slices.Index(goArgRegs, base) + 1
	if arg == 0 {
		return Placement{}, 0, fmt.Sprintf("the store's base register %v is not an argument register", base)
	}
	for j := store + 1; j < len(d.insts) && j <= store+maxStoreWalk; j++ {
		a, inst := d.addrs[j], d.insts[j]
		if d.targets[a] {
			return Placement{}, 0, fmt.Sprintf("%#x after the store is a branch target", a)
		}
		if _, taken := slices.BinarySearch(ix.words, a); taken {
			return Placement{}, 0, fmt.Sprintf("%#x after the store is in data", a)
		}
		b, _ := ix.code(a, a+uint64(inst.Len))
		if amd64Emulated(b, inst, e) {
			s, err := f.siteOf(a, SiteStore, true)
			if err != nil {
				return Placement{}, 0, err.Error()
			}
			why := fmt.Sprintf("the %v after its store to %#x(%v) (emulated, once per call)", inst.Op, off, base)
			return Placement{Kind: SiteStore, Sites: []Site{s}, Why: why}, arg, ""
		}
		if !keepsReg(inst, base) {
			return Placement{}, 0, fmt.Sprintf("%v at %#x may write %v or branch", inst.Op, a, base)
		}
	}
	return Placement{}, 0, "no emulated instruction in a straight line after the store"
}

// keepsReg reports an instruction that does not branch and leaves r as it
// was: of a known kind, whose destination (if a register) is another
// register. Anything else (implicit destinations, string operations,
// calls through registers) counts as writing it.
func keepsReg(inst x86asm.Inst, r x86asm.Reg) bool {
	switch inst.Op {
	case x86asm.CMP, x86asm.TEST, x86asm.NOP:
		return true
	case x86asm.XCHG:
		return inst.Args[0] == inst.Args[1] && inst.Args[0] != nil
	case x86asm.MOV, x86asm.MOVZX, x86asm.MOVSX, x86asm.MOVSXD, x86asm.LEA,
		x86asm.ADD, x86asm.SUB, x86asm.INC, x86asm.DEC, x86asm.AND, x86asm.OR, x86asm.XOR,
		x86asm.SHL, x86asm.SHR, x86asm.SAR, x86asm.NEG, x86asm.NOT,
		x86asm.MOVUPS, x86asm.MOVAPS, x86asm.MOVQ, x86asm.MOVSD_XMM, x86asm.MOVSS, x86asm.MOVDQU:
		d, ok := inst.Args[0].(x86asm.Reg)
		return !ok || regFamily(d) != regFamily(r)
	}
	return false
}

// regFamily maps a general register of any width to its 64-bit name.
func regFamily(r x86asm.Reg) x86asm.Reg {
	switch {
	case r >= x86asm.AL && r <= x86asm.R15B:
		return low8[r-x86asm.AL]
	case r >= x86asm.AX && r <= x86asm.R15W:
		return x86asm.RAX + (r - x86asm.AX)
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return x86asm.RAX + (r - x86asm.EAX)
	}
	return r
}

// low8 are the 64-bit registers of AL ... R15B in x86asm's order (AH, CH,
// DH, BH are the high bytes of AX, CX, DX, BX).
var low8 = []x86asm.Reg{
	x86asm.RAX, x86asm.RCX, x86asm.RDX, x86asm.RBX, x86asm.RAX, x86asm.RCX, x86asm.RDX, x86asm.RBX,
	x86asm.RSP, x86asm.RBP, x86asm.RSI, x86asm.RDI,
	x86asm.R8, x86asm.R9, x86asm.R10, x86asm.R11, x86asm.R12, x86asm.R13, x86asm.R14, x86asm.R15,
}

// keepsG reports an instruction that neither branches (a call through a
// register or memory returns to the next one) nor writes R14, Go's g
// register: what a return program that reads only g may be moved past.
func keepsG(inst x86asm.Inst) bool {
	switch inst.Op {
	case x86asm.CALL:
		_, rel := inst.Args[0].(x86asm.Rel)
		return !rel
	case x86asm.JMP, x86asm.RET, x86asm.LJMP, x86asm.LCALL, x86asm.LRET, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ,
		x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG, x86asm.JGE, x86asm.JL, x86asm.JLE,
		x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO, x86asm.JP, x86asm.JS,
		x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ, x86asm.LOOP, x86asm.LOOPE, x86asm.LOOPNE,
		x86asm.SYSCALL, x86asm.SYSENTER, x86asm.INT, x86asm.UD1, x86asm.UD2, x86asm.HLT:
		return false
	}
	for _, a := range inst.Args {
		if r, ok := a.(x86asm.Reg); ok && regFamily(r) == x86asm.R14 {
			return false // read or written: not worth telling apart
		}
	}
	return true
}
