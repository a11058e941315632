package selftest

import (
	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
)

// ptRegsAX is the offset of ax in x86-64 struct pt_regs: Go's register ABI
// passes the first integer argument in RAX.
const ptRegsAX = 10 * 8

// counterSpec is a uprobe program that adds 1 to element 0 of counts.
func counterSpec(counts *ebpf.Map, attach ebpf.AttachType) *ebpf.ProgramSpec {
	return &ebpf.ProgramSpec{
		Name:       "count_hits",
		Type:       ebpf.Kprobe,
		AttachType: attach,
		License:    "GPL",
		Instructions: asm.Instructions{
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.LoadMapPtr(asm.R1, counts.FD()),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "exit"),
			asm.Mov.Imm(asm.R1, 1),
			asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
			asm.Return(),
		},
	}
}

// writeUserSpec is a uprobe program that writes value into the uint64 that
// the probed function's first argument points to, and stores the helper's
// return value in element 0 of rets.
func writeUserSpec(rets *ebpf.Map, value int64) *ebpf.ProgramSpec {
	return &ebpf.ProgramSpec{
		Name:    "write_user",
		Type:    ebpf.Kprobe,
		License: "GPL", // bpf_probe_write_user is GPL-only
		Instructions: asm.Instructions{
			// u64 v = value on the stack at fp-8.
			asm.LoadImm(asm.R2, value, asm.DWord),
			asm.StoreMem(asm.RFP, -8, asm.R2, asm.DWord),
			// bpf_probe_write_user((void *)regs->ax, &v, 8)
			asm.LoadMem(asm.R1, asm.R1, ptRegsAX, asm.DWord),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -8),
			asm.Mov.Imm(asm.R3, 8),
			asm.FnProbeWriteUser.Call(),
			asm.Mov.Reg(asm.R6, asm.R0),
			// rets[0] = return value
			asm.StoreImm(asm.RFP, -12, 0, asm.Word),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -12),
			asm.LoadMapPtr(asm.R1, rets.FD()),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "exit"),
			asm.StoreMem(asm.R0, 0, asm.R6, asm.DWord),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
			asm.Return(),
		},
	}
}

// newArray returns a one-element array of uint64.
func newArray(name string) (*ebpf.Map, error) {
	return ebpf.NewMap(&ebpf.MapSpec{
		Name:       name,
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  8,
		MaxEntries: 1,
	})
}
