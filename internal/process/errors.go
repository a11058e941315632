package process

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrExited is returned when the target process no longer exists (or is a
// zombie whose memory and files are gone).
var ErrExited = errors.New("process exited")

// procPath returns /proc/PID/name.
func procPath(pid int, name string) string {
	return fmt.Sprintf("/proc/%d/%s", pid, name)
}

// gone reports whether a failed operation failed because the process is
// gone; /proc tells a vanished process from one whose file is missing for
// another reason (a kernel thread has no exe).
func gone(pid int, err error) bool {
	return errors.Is(err, unix.ESRCH) || !Alive(pid)
}

// wrapExited turns err into an error that matches ErrExited when the
// process is gone, keeping err as the cause.
func wrapExited(pid int, err error) error {
	if gone(pid, err) {
		return fmt.Errorf("%w: %w", ErrExited, err)
	}
	return err
}
