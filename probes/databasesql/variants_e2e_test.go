package databasesql_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the database/sql scenarios unchanged against fixtures
// built with -ldflags='-s -w': offsets from the versioned table, the
// driver error types' itabs from the itab list.
func TestStripped(t *testing.T) {
	testenv.RunStripped(t,
		testenv.Scenario{Name: "TestDBAppSpans", Run: TestDBAppSpans, Fixture: "testdata/dbapp"},
		testenv.Scenario{Name: "TestUnknownDriver", Run: TestUnknownDriver, Fixture: "testdata/fakedb"},
	)
}

// TestGoVersions runs the std-only fixture with the oldest (1.19), 1.21
// and the newest (1.27) Go here, stripped and not; dbapp's drivers need
// a newer Go than 1.19 and 1.21 (go.mod: modernc.org/sqlite v1.62.0 has
// go 1.26, lib/pq v1.12.3 go 1.21), and it ranges over ints (Go 1.22).
func TestGoVersions(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{
		{"go1.19", []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"go1.19-stripped", []testenv.Option{testenv.Toolchain(testenv.Go119), testenv.Stripped}},
		{"go1.21", []testenv.Option{testenv.Toolchain(testenv.Go121)}},
		{"go1.21-stripped", []testenv.Option{testenv.Toolchain(testenv.Go121), testenv.Stripped}},
		{"go1.27", []testenv.Option{testenv.Go127}},
		{"go1.27-stripped", []testenv.Option{testenv.Go127, testenv.Stripped}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.WithOptions(t, c.opts...)
			TestUnknownDriver(t)
		})
	}
}
