package otelglobal_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the package's scenarios unchanged against fixtures
// built with -ldflags='-s -w', as release binaries are.
func TestStripped(t *testing.T) {
	testenv.RunStripped(t,
		testenv.Scenario{Name: "TestGlobalSpans", Run: TestGlobalSpans, Fixture: "testdata/globalapp"},
		testenv.Scenario{Name: "TestGlobalOwnProvider", Run: TestGlobalOwnProvider, Fixture: "testdata/globalapp"},
	)
}
