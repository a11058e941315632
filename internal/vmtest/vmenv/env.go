package vmenv

import "os"

// Environment variables that /init sets for every test binary in the VM.
const (
	// EnvInVM is "1" inside the test VM.
	EnvInVM = "SONDE_IN_VM"
	// EnvFixtureDir names the directory that holds the binary's fixture
	// files (TestBinary.Files and TestBinary.Builds in package vmtest).
	EnvFixtureDir = "SONDE_FIXTURE_DIR"
)

// InVM reports whether the caller runs inside the kernel-matrix VM.
func InVM() bool { return os.Getenv(EnvInVM) == "1" }

// FixtureDir returns the fixture directory set by /init, or "" outside the VM.
func FixtureDir() string { return os.Getenv(EnvFixtureDir) }

// TB is the part of testing.TB that Skip needs.
type TB interface {
	Helper()
	Skipf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Skip skips the test with the reason outside the VM, and fails it inside:
// the VMs exist to run what this machine cannot (no lockdown, other kernel
// versions), so a skip there would hide a missing test.
func Skip(t TB, format string, args ...any) {
	t.Helper()
	if InVM() {
		t.Fatalf("must run in the test VM, but would skip: "+format, args...)
		return
	}
	t.Skipf(format, args...)
}
