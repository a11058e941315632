package vmtest

import (
	"fmt"
	"path"
	"regexp"
	"time"
)

// TestBinary is one package's test binary to run in the VM.
type TestBinary struct {
	// Package is the Go package to build with `go test -c`: an import path
	// or a path relative to the module root ("./probes/nethttp").
	Package string
	// Name names the binary in console lines and results; by default the
	// last element of Package.
	Name string
	// Args are the binary's arguments ("-test.v", "-test.run", "^TestX$").
	Args []string
	// Env is added to the binary's environment ("K=V").
	Env []string
	// Tags are build tags for `go test -c`.
	Tags []string
	// Files are extra files for the fixture directory: name there -> path
	// on this machine. The test finds the directory in $SONDE_FIXTURE_DIR
	// (vmenv.FixtureDir).
	Files map[string]string
	// Builds are Go programs built (static, CGO_ENABLED=0) into the fixture
	// directory: name there -> package, as for Package.
	Builds map[string]string
	// Want are tests (top-level names) that must report "--- PASS" in the
	// VM: one renamed, skipped or not run fails the matrix.
	Want []string
	// Timeout bounds the binary's run in the VM; 0 means 5 minutes.
	Timeout time.Duration
}

var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// name returns the binary's name, checked.
func (b TestBinary) name() (string, error) {
	n := b.Name
	if n == "" {
		n = path.Base(b.Package)
	}
	if !validName.MatchString(n) {
		return "", fmt.Errorf("test binary name %q: want [A-Za-z0-9_.-]+", n)
	}
	return n, nil
}
