package selftest

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// kernelVersion returns the running kernel's major and minor version.
func kernelVersion() (major, minor int, err error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return 0, 0, fmt.Errorf("reading kernel release: %w", err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	if _, err := fmt.Sscanf(rel, "%d.%d", &major, &minor); err != nil {
		return 0, 0, fmt.Errorf("parsing kernel release %q: %w", rel, err)
	}
	return major, minor, nil
}

// lockdownMode returns the kernel's lockdown mode ("none", "integrity",
// "confidentiality"), or "unknown".
func lockdownMode() string {
	b, err := os.ReadFile("/sys/kernel/security/lockdown")
	if err != nil {
		return "unknown"
	}
	s := string(b)
	i, j := strings.IndexByte(s, '['), strings.IndexByte(s, ']')
	if i < 0 || j < i {
		return "unknown"
	}
	return s[i+1 : j]
}
