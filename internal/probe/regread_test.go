package probe

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

func TestReadsSP(t *testing.T) {
	sp := ptRegsSP["amd64"]
	for _, c := range []struct {
		name  string
		insns asm.Instructions
		want  bool
	}{
		{"sp through a copy", asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.LoadMem(asm.R0, asm.R6, sp, asm.DWord),
			asm.Return(),
		}, true},
		{"only argument registers", asm.Instructions{
			asm.LoadMem(asm.R2, asm.R1, 80, asm.DWord), // ax
			asm.LoadMem(asm.R3, asm.R1, 40, asm.DWord), // bx
			asm.Mov.Reg(asm.R0, asm.R2),
			asm.Return(),
		}, false},
		{"sp of a map value at the same offset", asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.Call.Label("f"),
			asm.LoadMem(asm.R0, asm.R0, sp, asm.DWord),
			asm.Return(),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("f"),
			asm.Return(),
		}, false},
		{"spilled and reloaded", asm.Instructions{
			asm.StoreMem(asm.R10, -8, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R1, 0),
			asm.LoadMem(asm.R7, asm.R10, -8, asm.DWord),
			asm.LoadMem(asm.R0, asm.R7, sp, asm.DWord),
			asm.Return(),
		}, true},
		{"on one branch only", asm.Instructions{
			asm.Mov.Reg(asm.R6, asm.R1),
			asm.LoadMem(asm.R2, asm.R1, 80, asm.DWord),
			asm.JEq.Imm(asm.R2, 0, "skip"),
			asm.Mov.Imm(asm.R6, 0),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("skip"),
			asm.LoadMem(asm.R0, asm.R6, sp, asm.DWord),
			asm.Return(),
		}, true},
		{"address arithmetic on the context", asm.Instructions{
			asm.Mov.Reg(asm.R3, asm.R1),
			asm.Add.Imm(asm.R3, int32(sp)),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, true},
		{"in a subprogram", asm.Instructions{
			asm.Call.Label("sub"),
			asm.Return(),
			asm.LoadMem(asm.R0, asm.R1, sp, asm.DWord).WithSymbol("sub"),
			asm.Return(),
		}, true},
	} {
		insns := c.insns
		if err := resolveJumps(insns); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := readsSP(&ebpf.ProgramSpec{Instructions: insns}, "amd64"); got != c.want {
			t.Errorf("%s: readsSP = %v, want %v", c.name, got, c.want)
		}
	}
}

// resolveJumps sets the offset of every jump to a label, as the offsets of
// a program loaded from ELF are.
func resolveJumps(insns asm.Instructions) error {
	syms, err := insns.SymbolOffsets()
	if err != nil {
		return err
	}
	pos := 0
	for i := range insns {
		ins := &insns[i]
		pos += int(ins.Size() / asm.InstructionSize)
		if ref := ins.Reference(); ref != "" && ins.OpCode.Class().IsJump() && ins.OpCode.JumpOp() != asm.Call {
			ins.Offset = int16(syms[ref] - pos)
		}
	}
	return nil
}

func TestReadsOnlyG(t *testing.T) {
	g := ptRegsG["amd64"]
	for _, c := range []struct {
		name  string
		insns asm.Instructions
		want  bool
	}{
		{"g only", asm.Instructions{
			asm.LoadMem(asm.R2, asm.R1, g, asm.DWord),
			asm.Mov.Reg(asm.R0, asm.R2),
			asm.Return(),
		}, true},
		{"g and ax", asm.Instructions{
			asm.LoadMem(asm.R2, asm.R1, g, asm.DWord),
			asm.LoadMem(asm.R3, asm.R1, 80, asm.DWord),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, false},
		{"the low half of g's neighbour", asm.Instructions{
			asm.LoadMem(asm.R2, asm.R1, g+8, asm.Word),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, false},
		{"the context given to a helper", asm.Instructions{
			asm.FnGetCurrentPidTgid.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, false},
		{"no context read", asm.Instructions{
			asm.Mov.Imm(asm.R1, 0),
			asm.FnGetCurrentPidTgid.Call(),
			asm.Return(),
		}, true},
	} {
		insns := c.insns
		if err := resolveJumps(insns); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := readsOnlyG(&ebpf.ProgramSpec{Instructions: insns}, "amd64"); got != c.want {
			t.Errorf("%s: readsOnlyG = %v, want %v", c.name, got, c.want)
		}
	}
}
