//go:build !amd64

package process

import "golang.org/x/sys/unix"

// regs is not implemented off amd64: MapArena returns ErrArenaUnsupported
// before using it.
type regs struct{}

func getRegs(int, *regs) error                                                             { return ErrArenaUnsupported }
func setRegs(int, *regs) error                                                             { return ErrArenaUnsupported }
func (r *regs) setSyscall(uint64, uintptr, uint64, uint64, uint64, uint64, uint64, uint64) {}
func (r *regs) pc() uint64                                                                 { return 0 }
func (r *regs) ret() uint64                                                                { return 0 }
func (r *regs) stepped(uint64) bool                                                        { return false }

var _ = unix.SYS_MMAP
