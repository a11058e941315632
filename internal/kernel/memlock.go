package kernel

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// ErrMemlock matches RemoveMemlock's error when the limit could not be
// raised: the feature FeatureMemlock is off.
var ErrMemlock = errors.New("cannot raise RLIMIT_MEMLOCK")

// RemoveMemlock lifts RLIMIT_MEMLOCK for this process, but only on kernels
// that charge BPF memory to it (before 5.11); newer kernels are left alone
// and nothing is asked of them. It changes a process-wide limit, so it is
// only ever called explicitly. Without CAP_SYS_RESOURCE on an old kernel it
// returns an error wrapping ErrMemlock that gives the limit in force.
func RemoveMemlock() error {
	rel := release()
	if !ChargesMemlock(rel) {
		return nil
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		var cur unix.Rlimit
		_ = unix.Getrlimit(unix.RLIMIT_MEMLOCK, &cur)
		return fmt.Errorf("%w (kernel %s charges BPF memory to it; the limit stays %d bytes; raising it needs cap_sys_resource): %v",
			ErrMemlock, rel, cur.Cur, unwrapAll(err))
	}
	return nil
}

// unwrapAll returns the innermost error of a chain, without cilium/ebpf's
// advice to raise the limit that this error already gives.
func unwrapAll(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
