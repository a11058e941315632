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
