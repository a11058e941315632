package sondesdk_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the package's scenarios unchanged against fixtures
// built with -ldflags='-s -w', as release binaries are.
func TestStripped(t *testing.T) {
	testenv.RunStripped(t,
		testenv.Scenario{Name: "TestAnnotations", Run: TestAnnotations, Fixture: "testdata/sdkapp"},
		testenv.Scenario{Name: "TestTracerProvider", Run: TestTracerProvider, Fixture: "testdata/sdkapp"},
	)
}
