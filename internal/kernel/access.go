package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProcessUID returns the user ID that owns /proc/PID (the process's
// effective user while it is dumpable), or -1 when it cannot be read.
func ProcessUID(pid int) int {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid))
	if err != nil {
		return -1
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1
	}
	return int(st.Uid)
}

// ExplainAccess adds to a permission error met while opening process pid
// what is missing: the target runs as another user and Sonde lacks
// CAP_SYS_PTRACE (FeatureOtherUser). Other errors are returned unchanged.
func ExplainAccess(pid int, err error) error {
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	uid, euid := ProcessUID(pid), unix.Geteuid()
	caps, _ := readCaps("/proc/self/status")
	switch {
	case uid >= 0 && uid != euid && !caps.Has(unix.CAP_SYS_PTRACE):
		return fmt.Errorf("%w (pid %d runs as uid %d, sonde as uid %d without cap_sys_ptrace: feature %s needs it)",
			err, pid, uid, euid, FeatureOtherUser)
	case uid >= 0 && uid != euid:
		return fmt.Errorf("%w (pid %d runs as uid %d, sonde as uid %d with cap_sys_ptrace: a security module or a user namespace may refuse it)",
			err, pid, uid, euid)
	}
	return err
}
