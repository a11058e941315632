package probe

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"

	"github.com/sonde-go/auto/internal/binary"
)

// TestReadRegs: the registers a program loads from its context, and the
// results it reads through ret_arg's subprograms, whose SP read (of a
// caller's stack slot) is not a read of the stack results.
func TestReadRegs(t *testing.T) {
	sp, g := ptRegsSP["amd64"], ptRegsG["amd64"]
	retArg2 := asm.Instructions{
		asm.Mov.Reg(asm.R6, asm.R1).WithSymbol("sonde_ret_arg2"),
		asm.FnGetAttachCookie.Call(),
		asm.LoadMem(asm.R3, asm.R6, sp, asm.DWord),
		asm.LoadMem(asm.R0, asm.R6, 40, asm.DWord), // bx
		asm.Return(),
	}
	for _, c := range []struct {
		name            string
		insns           asm.Instructions
		direct, retArgs binary.RegSet
		sp, gOnly       bool
	}{
		{"g and ret_arg(2)", append(asm.Instructions{
			asm.Mov.Reg(asm.R7, asm.R1),
			asm.LoadMem(asm.R8, asm.R1, g, asm.DWord),
			asm.Call.Label("sonde_ret_arg2"),
			asm.Mov.Reg(asm.R1, asm.R7),
			asm.LoadMem(asm.R2, asm.R1, 88, asm.DWord), // cx
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		}, retArg2...), binary.R14 | binary.RCX, binary.RBX, false, false},
		{"ret_arg only", append(asm.Instructions{
			asm.Call.Label("sonde_ret_arg2"),
			asm.Return(),
		}, retArg2...), 0, binary.RBX, false, false},
		{"jumping into ret_arg", append(asm.Instructions{
			asm.Ja.Label("sonde_ret_arg2"),
		}, retArg2...), allRegs, binary.RBX, true, false},
		{"the context given to a helper", asm.Instructions{
			asm.FnGetAttachCookie.Call(),
			asm.Return(),
		}, allRegs, 0, true, false},
	} {
		insns := c.insns
		if err := resolveJumps(insns); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		prog := &ebpf.ProgramSpec{Instructions: insns}
		r := readRegs(prog)
		if r.direct != c.direct || r.retArgs != c.retArgs {
			t.Errorf("%s: direct %v, ret_arg %v; want %v, %v", c.name, r.direct, r.retArgs, c.direct, c.retArgs)
		}
		if got := readsSP(prog, "amd64"); got != c.sp {
			t.Errorf("%s: readsSP %v, want %v", c.name, got, c.sp)
		}
		if got := readsOnlyG(prog, "amd64"); got != c.gOnly {
			t.Errorf("%s: readsOnlyG %v, want %v", c.name, got, c.gOnly)
		}
	}
}

// TestReadRegsDatabaseSQL: the database/sql return programs as built
// read the error through ret_arg (results 2, 3 of (*Rows, error); 3, 4 of
// (Result, error)) and no register directly but g.
func TestReadRegsDatabaseSQL(t *testing.T) {
	spec, err := ebpf.LoadCollectionSpec("../../probes/databasesql/query_x86_bpfel.o")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Variables[retCookiesVar] == nil {
		t.Errorf("no variable %s", retCookiesVar)
	}
	for prog, want := range map[string]binary.RegSet{"query_ret": binary.RBX | binary.RCX, "exec_ret": binary.RCX | binary.RDI} {
		ps := spec.Programs[prog]
		if ps == nil {
			t.Fatalf("no program %s", prog)
		}
		r := readRegs(ps)
		if r.direct != binary.R14 || r.retArgs != want || readsSP(ps, "amd64") || readsOnlyG(ps, "amd64") {
			t.Errorf("%s: direct %v, ret_arg %v, readsSP %v; want R14, %v, false", prog, r.direct, r.retArgs, readsSP(ps, "amd64"), want)
		}
	}
}

// TestRetCookie: byte n-1 of the cookie is 0 for a result in its
// register, else its slot's offset from SP / 8 + 1 (sonde/retarg.h).
func TestRetCookie(t *testing.T) {
	var s binary.Site
	if c := retCookie(s); c != 0 {
		t.Errorf("no spill: cookie %#x, want 0", c)
	}
	s.Spilled = binary.RBX | binary.RCX
	s.SpillOff[3], s.SpillOff[1] = 0x88, 0x90 // RBX, RCX (x86asm order)
	if c := retCookie(s); c != 0x13_12_00 {
		t.Errorf("BX at SP+0x88, CX at SP+0x90: cookie %#x, want 0x131200", c)
	}
	s = binary.Site{Spilled: binary.RAX}
	if c := retCookie(s); c != 0x01 {
		t.Errorf("AX at SP+0: cookie %#x, want 0x01", c)
	}
}
