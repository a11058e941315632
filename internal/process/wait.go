package process

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// pollEvery is how often WaitExit checks /proc when pidfds are not available.
const pollEvery = 100 * time.Millisecond

// Alive reports whether the process exists and has not exited; a zombie
// (exited but not yet reaped) is not alive.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	data, err := os.ReadFile(procPath(pid, "stat"))
	if err != nil {
		return false
	}
	// "PID (comm) S ...": comm may hold spaces and parentheses, so the
	// state follows the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 || i+2 >= len(data) {
		return false
	}
	switch data[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

// WaitExit returns nil once the process has exited (a zombie counts as
// exited), or ctx.Err() when ctx is done first. It waits on a pidfd where
// the kernel has them (5.10+ for non-blocking ones) and polls /proc otherwise.
func WaitExit(ctx context.Context, pid int) error {
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	switch {
	case errors.Is(err, unix.ESRCH):
		return nil
	case err != nil:
		return waitExitPoll(ctx, pid)
	}
	return waitPidfd(ctx, pid, fd)
}

// waitPidfd waits for the pidfd to become readable (the process exited)
// through the runtime's poller, so that no thread blocks.
func waitPidfd(ctx context.Context, pid, fd int) error {
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))
	defer f.Close()
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		// Not registered with the poller (no epoll support for pidfds).
		return waitExitPoll(ctx, pid)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("waiting for process %d: %w", pid, err)
	}
	stop := context.AfterFunc(ctx, func() { f.SetReadDeadline(time.Now()) })
	defer stop()
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, perr = unix.Poll(fds, 0)
			if !errors.Is(perr, unix.EINTR) {
				break
			}
		}
		return perr != nil || fds[0].Revents != 0
	})
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("waiting for process %d: %w", pid, err)
	case perr != nil:
		return fmt.Errorf("waiting for process %d: %w", pid, perr)
	}
	return nil
}

// waitExitPoll checks /proc every pollEvery until the process is gone.
func waitExitPoll(ctx context.Context, pid int) error {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for Alive(pid) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
