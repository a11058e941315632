package process

import "golang.org/x/sys/unix"

type regs struct{ r unix.PtraceRegs }

func getRegs(tid int, r *regs) error { return unix.PtraceGetRegs(tid, &r.r) }
func setRegs(tid int, r *regs) error { return unix.PtraceSetRegs(tid, &r.r) }

// setSyscall points the thread at the syscall instruction at pc with
// system call nr and its arguments. orig_rax -1 keeps the kernel from
// restarting the system call the thread was stopped in at this address.
func (r *regs) setSyscall(pc uint64, nr uintptr, a0, a1, a2, a3, a4, a5 uint64) {
	r.r.Rip = pc
	r.r.Rax = uint64(nr)
	r.r.Orig_rax = ^uint64(0)
	r.r.Rdi, r.r.Rsi, r.r.Rdx, r.r.R10, r.r.R8, r.r.R9 = a0, a1, a2, a3, a4, a5
}

func (r *regs) pc() uint64  { return r.r.Rip }
func (r *regs) ret() uint64 { return r.r.Rax }

// stepped reports whether the thread ran the two-byte instruction at sc.
func (r *regs) stepped(sc uint64) bool { return r.r.Rip == sc+2 }
