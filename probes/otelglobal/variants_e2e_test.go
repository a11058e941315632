package otelglobal_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the package's scenarios unchanged against fixtures
// built with -ldflags='-s -w', as release binaries are.
func TestStripped(t *testing.T) {
	for _, c := range []struct {
		name    string
		run     func(*testing.T)
		fixture string // checked to be stripped
	}{
		{"TestGlobalSpans", TestGlobalSpans, "testdata/globalapp"},
		{"TestGlobalOwnProvider", TestGlobalOwnProvider, "testdata/globalapp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.WithOptions(t, testenv.Stripped)
			if c.fixture != "" {
				testenv.RequireStripped(t, testenv.Build(t, c.fixture))
			}
			c.run(t)
		})
	}
}
