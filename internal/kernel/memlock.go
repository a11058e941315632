package kernel

import (
	"fmt"

	"github.com/cilium/ebpf/rlimit"
)

// RemoveMemlock lifts RLIMIT_MEMLOCK for this process, but only on kernels
// that charge BPF memory to it (before 5.11); newer kernels are left alone.
// It changes a process-wide limit, so it is only ever called explicitly.
func RemoveMemlock() error {
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("removing memlock rlimit: %w", err)
	}
	return nil
}
