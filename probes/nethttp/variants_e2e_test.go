package nethttp_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestStripped runs the net/http scenarios unchanged against fixtures
// built with -ldflags='-s -w', as release binaries are: offsets from the
// versioned table, itabs (context walk, *bufio.Writer) from the itab list.
func TestStripped(t *testing.T) {
	testenv.RunStripped(t,
		testenv.Scenario{Name: "TestServerSpans", Run: TestServerSpans, Fixture: "testdata/server"},
		testenv.Scenario{Name: "TestServerSpansGo122", Run: TestServerSpansGo122, Fixture: "testdata/server"},
		testenv.Scenario{Name: "TestClientSpansNest", Run: TestClientSpansNest, Fixture: "testdata/fanout"},
		testenv.Scenario{Name: "TestH2C", Run: TestH2C, Fixture: "testdata/h2c"},
	)
}

// TestGoVersions runs the std-only scenarios (server, client, network
// path, the injection probe's target check) with the oldest Go here (1.19:
// classic maps, no method patterns, no Request.Pattern), Go 1.21 for the
// client, and the newest (1.27: Swiss maps, at most 500 header values by
// default), with and without symbols and DWARF; Go 1.22 is
// TestServerSpansGo122 and its stripped variant, TestManyHeaders has its
// own. TestH2C's fixture needs golang.org/x/net (v0.60.0: go 1.26), which
// the older toolchains cannot build.
func TestGoVersions(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(*testing.T)
		opts []testenv.Option
	}{
		{"client-go1.19", TestClientSpansNest, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"client-go1.19-stripped", TestClientSpansNest, []testenv.Option{testenv.Toolchain(testenv.Go119), testenv.Stripped}},
		{"client-go1.21", TestClientSpansNest, []testenv.Option{testenv.Toolchain(testenv.Go121)}},
		{"client-go1.21-stripped", TestClientSpansNest, []testenv.Option{testenv.Toolchain(testenv.Go121), testenv.Stripped}},
		{"client-go1.27", TestClientSpansNest, []testenv.Option{testenv.Go127}},
		{"client-go1.27-stripped", TestClientSpansNest, []testenv.Option{testenv.Go127, testenv.Stripped}},
		{"inject-target-go1.19", TestInjectTarget, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"netpath-target-go1.19", TestNetPathTarget, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"netpath-go1.19", TestNetPathPropagates, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"netpath-go1.19-stripped", TestNetPathPropagates, []testenv.Option{testenv.Toolchain(testenv.Go119), testenv.Stripped}},
		{"netpath-headers-go1.19", TestNetPathAppHeaders, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"netpath-writes-go1.19", TestNetPathRecordedWrites, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"netpath-writes-go1.19-stripped", TestNetPathRecordedWrites, []testenv.Option{testenv.Toolchain(testenv.Go119), testenv.Stripped}},
		{"netpath-go1.27", TestNetPathPropagates, []testenv.Option{testenv.Go127}},
		{"netpath-writes-go1.27-stripped", TestNetPathRecordedWrites, []testenv.Option{testenv.Go127, testenv.Stripped}},
		{"server-go1.19", TestServerSpans, []testenv.Option{testenv.Toolchain(testenv.Go119)}},
		{"server-go1.19-stripped", TestServerSpans, []testenv.Option{testenv.Toolchain(testenv.Go119), testenv.Stripped}},
		{"server-go1.27", TestServerSpans, []testenv.Option{testenv.Go127}},
		{"server-go1.27-stripped", TestServerSpans, []testenv.Option{testenv.Go127, testenv.Stripped}},
	} {
		t.Run(c.name, func(t *testing.T) {
			testenv.WithOptions(t, c.opts...)
			c.run(t)
		})
	}
}
