package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// envHelperMark makes the test binary a helper program: it creates the file
// the variable names and exits with helperExit.
const (
	envHelperMark = "SONDE_TEST_HELPER_MARK"
	helperExit    = 5
)

var (
	buildOnce sync.Once
	buildDir  string
	sondeBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	if mark := os.Getenv(envHelperMark); mark != "" {
		if err := os.WriteFile(mark, nil, 0o600); err != nil {
			os.Exit(1)
		}
		os.Exit(helperExit)
	}
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// buildSonde builds the sonde command once per test binary and returns its
// path.
func buildSonde(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sonde-test-")
		if buildErr != nil {
			return
		}
		sondeBin = filepath.Join(buildDir, "sonde")
		out, err := exec.Command("go", "build", "-o", sondeBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%w\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building sonde: %v", buildErr)
	}
	return sondeBin
}
