package kernel

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Lockdown modes as read from /sys/kernel/security/lockdown.
const (
	LockdownNone            = "none"
	LockdownIntegrity       = "integrity"
	LockdownConfidentiality = "confidentiality"
	LockdownUnknown         = "unknown"
)

// securityDir is where securityfs is normally mounted.
const securityDir = "/sys/kernel/security"

// readLockdown returns the lockdown mode from the securityfs mounted (or
// mountable) at dir. When securityfs is not mounted there and canMount is
// true, it is mounted read-only for the read and unmounted afterwards.
func readLockdown(dir string, canMount bool) string {
	mode, err := lockdownFrom(dir)
	switch {
	case err == nil:
		return mode
	case isSecurityfs(dir):
		if errors.Is(err, fs.ErrNotExist) {
			// securityfs is there but the lockdown LSM is not built in.
			return LockdownNone
		}
		return LockdownUnknown
	case !canMount:
		return LockdownUnknown
	}
	const flags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := unix.Mount("securityfs", dir, "securityfs", flags, ""); err != nil {
		return LockdownUnknown
	}
	defer unix.Unmount(dir, 0)
	mode, err = lockdownFrom(dir)
	switch {
	case err == nil:
		return mode
	case errors.Is(err, fs.ErrNotExist):
		return LockdownNone
	default:
		return LockdownUnknown
	}
}

func lockdownFrom(dir string) (string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "lockdown"))
	if err != nil {
		return "", err
	}
	return parseLockdown(string(data)), nil
}

// parseLockdown picks the bracketed mode out of "none [integrity] confidentiality".
func parseLockdown(s string) string {
	for _, f := range strings.Fields(s) {
		if m, ok := strings.CutPrefix(f, "["); ok {
			if m, ok := strings.CutSuffix(m, "]"); ok {
				switch m {
				case LockdownNone, LockdownIntegrity, LockdownConfidentiality:
					return m
				}
			}
		}
	}
	return LockdownUnknown
}

func isSecurityfs(dir string) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Type == unix.SECURITYFS_MAGIC
}

// lockedDown reports whether mode forbids bpf_probe_write_user
// (LOCKDOWN_BPF_WRITE_USER is below the integrity level).
func lockedDown(mode string) bool {
	return mode == LockdownIntegrity || mode == LockdownConfidentiality
}
