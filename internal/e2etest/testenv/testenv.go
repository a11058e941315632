// Package testenv is what every package's tests share to build fixture
// programs (Build, Main), to decide between skipping and failing when
// something the test needs is missing (Require, RequireRoot, RequireInVM),
// and to wait for a condition instead of sleeping (Eventually).
//
// It imports the standard library and vmenv only, so that the internal
// tests of packages the root package imports (internal/binary,
// internal/process, ...) can use it without an import cycle; package
// e2etest builds on it to run and instrument fixtures.
package testenv

import (
	"fmt"
	"os"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// TB is the part of testing.TB that Require and Eventually use.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// strict says why a missing requirement is a failure here rather than a
// skip, or "" when it is a skip: CI runs as root with every toolchain and
// tool installed, and the kernel-matrix VMs exist to run what this machine
// cannot, so a skip in either would hide a test that did not run.
func strict() string {
	switch {
	case os.Getenv("CI") != "":
		return "CI is set"
	case vmenv.InVM():
		return "inside the kernel-matrix VM"
	}
	return ""
}

// Require does nothing when ok. Otherwise it fails the test when CI is set
// (env CI non-empty) or inside the kernel-matrix VM (vmenv.InVM), and skips
// it elsewhere; the message is the reason, formatted. Skips that are a
// choice (testing.Short) stay plain t.Skip calls.
func Require(t TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	reason := fmt.Sprintf(format, args...)
	if why := strict(); why != "" {
		t.Fatalf("%s (a failure, not a skip: %s)", reason, why)
		return
	}
	t.Skipf("%s", reason)
}

// RequireInVM is Require for what the development and CI machines may
// lack but the kernel-matrix VM must have, such as bpf_probe_write_user
// (refused under lockdown): it fails inside the VM and skips elsewhere, CI
// included.
func RequireInVM(t TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	reason := fmt.Sprintf(format, args...)
	if vmenv.InVM() {
		t.Fatalf("%s (a failure, not a skip: inside the kernel-matrix VM)", reason)
		return
	}
	t.Skipf("%s", reason)
}

// RequireRoot is Require(root): loading BPF programs, creating BPF maps
// and attaching uprobes to another process need root.
func RequireRoot(t TB) {
	t.Helper()
	Require(t, os.Geteuid() == 0, "needs root to load BPF programs and attach uprobes (euid %d)", os.Geteuid())
}

// Eventually calls cond until it returns nil, and fails the test with
// cond's last error when that has not happened within timeout. It returns
// as soon as the condition holds: use it where a test would sleep and
// check.
func Eventually(t TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %v", timeout, err)
			return
		}
		time.Sleep(wait) // polling interval, not a guess at how long cond takes
		wait = min(2*wait, 50*time.Millisecond)
	}
}
