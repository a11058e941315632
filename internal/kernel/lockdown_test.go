package kernel

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func TestParseLockdown(t *testing.T) {
	for in, want := range map[string]string{
		"[none] integrity confidentiality\n": LockdownNone,
		"none [integrity] confidentiality\n": LockdownIntegrity,
		"none integrity [confidentiality]\n": LockdownConfidentiality,
		"none integrity confidentiality\n":   LockdownUnknown,
		"[bogus]\n":                          LockdownUnknown,
		"":                                   LockdownUnknown,
	} {
		if got := parseLockdown(in); got != want {
			t.Errorf("parseLockdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestReadLockdownPlainDir(t *testing.T) {
	dir := t.TempDir()
	// Not securityfs and no file: unknown, and no mount attempt.
	if got := readLockdown(dir, false); got != LockdownUnknown {
		t.Errorf("empty dir: %q, want unknown", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "lockdown"), []byte("none integrity [confidentiality]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readLockdown(dir, false); got != LockdownConfidentiality {
		t.Errorf("with file: %q, want confidentiality", got)
	}
}

// TestReadLockdownMounts unmounts securityfs in a private mount namespace
// and checks that readLockdown mounts it back for the read, then leaves the
// directory as it found it.
func TestReadLockdownMounts(t *testing.T) {
	testenv.RequireRoot(t) // to mount securityfs
	want := readLockdown(securityDir, false)
	if !isSecurityfs(securityDir) {
		t.Skipf("securityfs is not mounted at %s", securityDir)
	}

	type result struct {
		got, skip string
		still     bool
	}
	done := make(chan result)
	go func() {
		// The thread's mount namespace is changed for good: never unlock it,
		// so that the runtime ends the thread with the goroutine.
		runtime.LockOSThread()
		var r result
		defer func() { done <- r }()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			r.skip = "unshare(CLONE_NEWNS): " + err.Error()
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			r.skip = "making mounts private: " + err.Error()
			return
		}
		if err := unix.Unmount(securityDir, unix.MNT_DETACH); err != nil {
			r.skip = "unmounting securityfs: " + err.Error()
			return
		}
		if isSecurityfs(securityDir) {
			r.skip = "securityfs is mounted twice"
			return
		}
		if got := readLockdown(securityDir, false); got != LockdownUnknown {
			r.got = "without mount: " + got
			return
		}
		r.got = readLockdown(securityDir, true)
		r.still = isSecurityfs(securityDir)
	}()
	r := <-done
	if r.skip != "" {
		t.Skip(r.skip)
	}
	if r.got != want {
		t.Errorf("readLockdown after mounting = %q, want %q", r.got, want)
	}
	if r.still {
		t.Error("securityfs left mounted")
	}
}
