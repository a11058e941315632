package probe

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// ptRegsSP is the offset of the stack pointer in the pt_regs a uprobe
// program gets (internal/bpf/include/sonde/regs.h).
var ptRegsSP = map[string]int16{"amd64": 19 * 8, "arm64": 31 * 8}

// ptRegsG is the offset of Go's g register (amd64 R14, arm64 R28) in the
// pt_regs a uprobe program gets.
var ptRegsG = map[string]int16{"amd64": 1 * 8, "arm64": 28 * 8}

// ctxState is what may hold the program's context at one instruction:
// registers (bit n: Rn) and 8-byte stack slots (bit n: R10-8*(n+1)).
type ctxState struct{ regs, slots uint64 }

// readsSP reports whether prog may read the stack pointer from its
// context: a load at the offset of sp through a register that may hold
// the context, on any path (a forward data-flow over the instructions,
// merging at jump targets; every subprogram may get the context in any
// argument register). It errs towards true: arithmetic on the context, or
// the context stored anywhere but an aligned stack slot, count as reading
// it (the program then keeps its ret sites).
func readsSP(prog *ebpf.ProgramSpec, arch string) bool {
	sp, ok := ptRegsSP[arch]
	if !ok {
		return true
	}
	return readsCtx(prog, func(off, size int16) bool { return off <= sp && sp < off+size })
}

// readsOnlyG reports whether prog reads no register from its context but
// g (the analysis of readsSP: anything it cannot follow counts as a read).
func readsOnlyG(prog *ebpf.ProgramSpec, arch string) bool {
	g, ok := ptRegsG[arch]
	if !ok {
		return false
	}
	return !readsCtx(prog, func(off, size int16) bool { return off < g || off+size > g+8 })
}

// readsCtx reports whether prog may load a range [off, off+size) of its
// context for which reads is true, or use its context in a way the
// analysis does not follow.
func readsCtx(prog *ebpf.ProgramSpec, reads func(off, size int16) bool) bool {
	insns := prog.Instructions
	// Raw instruction positions: jump offsets count 8-byte slots, and a
	// 64-bit immediate load takes two.
	index := map[int]int{}
	pos := make([]int, len(insns)+1)
	for i, ins := range insns {
		index[pos[i]] = i
		pos[i+1] = pos[i] + int(ins.Size()/asm.InstructionSize)
	}
	const args = 1<<asm.R1 | 1<<asm.R2 | 1<<asm.R3 | 1<<asm.R4 | 1<<asm.R5
	const scratch = 1<<asm.R0 | args
	in := make([]ctxState, len(insns))
	seen := make([]bool, len(insns))
	var work []int
	flow := func(i int, s ctxState) {
		if i < 0 || i >= len(insns) {
			return
		}
		merged := ctxState{in[i].regs | s.regs, in[i].slots | s.slots}
		if seen[i] && merged == in[i] {
			return
		}
		in[i], seen[i] = merged, true
		work = append(work, i)
	}
	flow(0, ctxState{regs: 1 << asm.R1})
	for i, ins := range insns {
		if i > 0 && ins.Symbol() != "" {
			flow(i, ctxState{regs: args})
		}
	}
	slot := func(off int16) (uint64, bool) {
		if off >= 0 || off < -512 || off%8 != 0 {
			return 0, false
		}
		return 1 << uint(-off/8-1), true
	}
	for len(work) > 0 {
		i := work[len(work)-1]
		work = work[:len(work)-1]
		ins, s := insns[i], in[i]
		op := ins.OpCode
		dst, src := uint64(1)<<ins.Dst, uint64(1)<<ins.Src
		next := []int{i + 1}
		switch cls := op.Class(); {
		case cls == asm.LdXClass:
			if s.regs&src != 0 && reads(ins.Offset, int16(op.Size().Sizeof())) {
				return true
			}
			s.regs &^= dst
			if b, ok := slot(ins.Offset); ok && ins.Src == asm.R10 && s.slots&b != 0 {
				s.regs |= dst
			}
		case cls == asm.LdClass:
			s.regs &^= dst
		case cls == asm.StXClass || cls == asm.StClass:
			b, ok := slot(ins.Offset)
			ctx := cls == asm.StXClass && s.regs&src != 0
			switch {
			case ctx && (ins.Dst != asm.R10 || !ok):
				return true // the context stored where it is not followed
			case ins.Dst == asm.R10 && ok && ctx:
				s.slots |= b
			case ins.Dst == asm.R10 && ok:
				s.slots &^= b
			}
		case cls.IsALU():
			switch {
			case op.ALUOp() == asm.Mov && op.Source() == asm.RegSource:
				s.regs &^= dst
				if s.regs&src != 0 || ins.Src == ins.Dst && in[i].regs&src != 0 {
					s.regs |= dst
				}
			case op.ALUOp() == asm.Mov:
				s.regs &^= dst
			case s.regs&dst != 0, op.Source() == asm.RegSource && s.regs&src != 0:
				return true // arithmetic on the context: offsets not followed
			}
		case cls.IsJump():
			switch op.JumpOp() {
			case asm.Exit:
				next = nil
			case asm.Call:
				if !ins.IsFunctionCall() && s.regs&args != 0 {
					return true // the context given to a helper, which may read any register
				}
				s.regs &^= scratch
			case asm.Ja:
				next = []int{-1}
				if t, ok := index[pos[i+1]+int(ins.Offset)]; ok {
					next = []int{t}
				}
			default:
				t, ok := index[pos[i+1]+int(ins.Offset)]
				if !ok {
					return true
				}
				next = append(next, t)
			}
		}
		for _, n := range next {
			flow(n, s)
		}
	}
	return false
}
