package goroutines_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the package's scenarios unchanged against fixtures
// built with -ldflags='-s -w', as release binaries are.
func TestStripped(t *testing.T) {
	testenv.RunStripped(t,
		testenv.Scenario{Name: "TestFanOut", Run: TestFanOut, Fixture: "testdata/fanout"},
	)
}

// TestGoVersions runs the fan-out scenario with the newest Go here (Swiss
// maps), stripped and not; its fixture needs golang.org/x/sync (v0.24.0
// in go.mod: go 1.26), which the older toolchains cannot build, and the
// probe refuses Go 1.19 anyway (runtime.g has no parentGoid before 1.21).
func TestGoVersions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{
		{"go1.27", []testenv.Option{testenv.Go127}},
		{"go1.27-stripped", []testenv.Option{testenv.Go127, testenv.Stripped}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.WithOptions(t, c.opts...)
			TestFanOut(t)
		})
	}
}
