package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
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

// yamaScopePath is Yama's ptrace_scope sysctl, readable by every user.
const yamaScopePath = "/proc/sys/kernel/yama/ptrace_scope"

// readPtraceScope returns Yama's ptrace_scope at path: 0 classic ptrace
// permissions, 1 attaching restricted to descendants, 2 to CAP_SYS_PTRACE,
// 3 to no one; 0 without Yama.
func readPtraceScope(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// IsDescendant reports whether process pid is a descendant of this
// process, which Yama's ptrace_scope 1 lets it attach to without
// CAP_SYS_PTRACE (`sonde run`).
func IsDescendant(pid int) bool {
	self := os.Getpid()
	for range 1024 { // a loop of parents is not possible; a deep tree is
		ppid := parentPID(pid)
		switch {
		case ppid == self:
			return true
		case ppid <= 1:
			return false
		}
		pid = ppid
	}
	return false
}

// parentPID returns the parent of pid from /proc/PID/stat, or -1.
func parentPID(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return -1
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(fields[1])
	if err != nil {
		return -1
	}
	return ppid
}
