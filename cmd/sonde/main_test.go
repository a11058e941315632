package main

import (
	"os"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// envHelperMark makes the test binary a helper program: it creates the file
// the variable names and exits with helperExit.
const (
	envHelperMark = "SONDE_TEST_HELPER_MARK"
	helperExit    = 5
)

func TestMain(m *testing.M) {
	if mark := os.Getenv(envHelperMark); mark != "" {
		if err := os.WriteFile(mark, nil, 0o600); err != nil {
			os.Exit(1)
		}
		os.Exit(helperExit)
	}
	testenv.Main(m)
}

// buildSonde builds the sonde command once per test binary and returns its
// path.
func buildSonde(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, ".", testenv.Name("sonde"))
}
