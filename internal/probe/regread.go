package probe

import (
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sonde-go/auto/internal/binary"
)

// ptRegsSP is the offset of the stack pointer in the pt_regs a uprobe
// program gets (internal/bpf/include/sonde/regs.h).
var ptRegsSP = map[string]int16{"amd64": 19 * 8, "arm64": 31 * 8}

// ptRegsG is the offset of Go's g register (amd64 R14, arm64 R28) in the
// pt_regs a uprobe program gets.
var ptRegsG = map[string]int16{"amd64": 1 * 8, "arm64": 28 * 8}

// ptRegsAMD64 are the general registers of the amd64 pt_regs words, in
// order; 0 for orig_ax, ip, cs, flags, sp and ss, which the return walk
// does not follow (sp: readsSP).
var ptRegsAMD64 = [...]binary.RegSet{
	binary.R15, binary.R14, binary.R13, binary.R12, binary.RBP, binary.RBX, binary.R11, binary.R10,
	binary.R9, binary.R8, binary.RAX, binary.RCX, binary.RDX, binary.RSI, binary.RDI, 0, 0, 0, 0, 0, 0,
}

// retArgPrefix names the subprograms of sonde/retarg.h: sonde_ret_argN
// reads the Nth ABIInternal integer result where the attach cookie says
// (its register, or a stack slot of the caller), for N up to retArgMax
// (a byte of the 8-byte cookie each). readsCtx skips them.
const (
	retArgPrefix = "sonde_ret_arg"
	retArgMax    = 8
)

// retArg returns N for a subprogram named sonde_ret_argN.
func retArg(sym string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(sym, retArgPrefix))
	if !strings.HasPrefix(sym, retArgPrefix) || err != nil || n < 1 || n > retArgMax {
		return 0, false
	}
	return n, true
}

// regReads are the registers a return program reads from its context
// (amd64).
type regReads struct {
	// direct are the general registers it loads from its context, other
	// than through ret_arg: all of them where the analysis cannot follow
	// the context.
	direct binary.RegSet
	// retArgs are the results it reads through ret_arg (sonde_ret_argN
	// is in the program).
	retArgs binary.RegSet
}

// readRegs returns the registers prog reads (the analysis of readsSP).
func readRegs(prog *ebpf.ProgramSpec) regReads {
	var r regReads
	for _, ins := range prog.Instructions {
		if n, ok := retArg(ins.Symbol()); ok {
			r.retArgs |= binary.ABIRegs[n-1]
		}
	}
	// One scan records every word loaded; a use it cannot follow counts
	// as a read of every register.
	unfollowed := readsCtx(prog, func(o, size int16) bool {
		for i, reg := range ptRegsAMD64 {
			if off := int16(i * 8); reg != 0 && o < off+8 && off < o+size {
				r.direct |= reg
			}
		}
		return false
	})
	if unfollowed {
		r.direct = allRegs
	}
	return r
}

// ctxState is what may hold the program's context at one instruction:
// registers (bit n: Rn) and 8-byte stack slots (bit n: R10-8*(n+1)).
type ctxState struct{ regs, slots uint64 }

// readsSP reports whether prog may read the stack pointer from its
// context: a load at the offset of sp through a register that may hold
// the context, on any path (a forward data-flow over the instructions,
// merging at jump targets; every subprogram may get the context in any
// argument register). It errs towards true: arithmetic on the context, or
// the context stored anywhere but an aligned stack slot, count as reading
// it (the program then keeps its ret sites). The subprograms of ret_arg
// (sonde/retarg.h) are not scanned: they read SP only where the attach
// cookie names a stack slot, which only a call site's does.
func readsSP(prog *ebpf.ProgramSpec, arch string) bool {
	sp, ok := ptRegsSP[arch]
	if !ok {
		return true
	}
	return readsCtx(prog, func(off, size int16) bool { return off <= sp && sp < off+size })
}

// readsOnlyG reports whether prog reads no register from its context but
// g (the analysis of readsSP: anything it cannot follow counts as a read;
// ret_arg reads a register).
func readsOnlyG(prog *ebpf.ProgramSpec, arch string) bool {
	g, ok := ptRegsG[arch]
	if !ok {
		return false
	}
	for _, ins := range prog.Instructions {
		if _, ok := retArg(ins.Symbol()); ok {
			return false
		}
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
	// The subprograms of ret_arg are not followed: their reads are what
	// their name says. Reaching one otherwise than by a call is a use of
	// the context that is not followed.
	skip := make([]bool, len(insns))
	inRetArg := false
	for i, ins := range insns {
		if sym := ins.Symbol(); sym != "" {
			_, inRetArg = retArg(sym)
		}
		skip[i] = inRetArg
	}
	escaped := false
	in := make([]ctxState, len(insns))
	seen := make([]bool, len(insns))
	var work []int
	flow := func(i int, s ctxState) {
		if i < 0 || i >= len(insns) {
			return
		}
		if skip[i] {
			escaped = true
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
		if i > 0 && ins.Symbol() != "" && !skip[i] {
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
		if escaped {
			return true
		}
	}
	return false
}
