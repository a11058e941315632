package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"time"
)

// ExeFile returns "/proc/PID/exe": the path Sonde opens to read a target's
// executable, which works across mount namespaces.
func ExeFile(pid int) string {
	return procPath(pid, "exe")
}

// ExePath returns the target's executable path as the target sees it
// (inside its own mount namespace). A file replaced or removed since the
// target started ends in " (deleted)".
func ExePath(pid int) (string, error) {
	p, err := os.Readlink(ExeFile(pid))
	if err != nil {
		return "", fmt.Errorf("reading executable path of process %d: %w", pid, wrapExited(pid, err))
	}
	return p, nil
}

// FindExe returns, in ascending order, the PIDs whose executable is the file
// at path. Files are compared by device and inode, so symlinks, relative
// paths and other mount namespaces' views of the same file all match.
func FindExe(path string) ([]int, error) {
	want, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("finding processes running %s: %w", path, err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("finding processes running %s: %w", path, err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		// Errors are expected here: kernel threads, processes that just
		// exited, processes we may not inspect.
		fi, err := os.Stat(ExeFile(pid))
		if err == nil && os.SameFile(fi, want) {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// WaitExe waits until a process runs the file at path and returns the
// lowest such PID, checking every interval (100ms when every <= 0). A path
// that does not exist yet is waited for too. It returns ctx.Err() when ctx
// is done first.
func WaitExe(ctx context.Context, path string, every time.Duration) (int, error) {
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		pids, err := FindExe(path)
		switch {
		case err == nil && len(pids) > 0:
			return pids[0], nil
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return 0, err
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-tick.C:
		}
	}
}
