package databasesql_test

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// A driver Sonde does not know, on the current and an older Go: one span
// per operation all the same, with db.system.name other_sql and the error's
// Go type as error.type.
func TestUnknownDriver(t *testing.T) {
	testenv.RequireRoot(t)
	for _, tc := range []struct {
		name  string
		build func(t *testing.T) string
	}{
		{"current", func(t *testing.T) string { return testenv.Build(t, "testdata/fakedb") }},
		{"go1.22", func(t *testing.T) string {
			return testenv.Build(t, "testdata/fakedb", testenv.Toolchain(testenv.Go122))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proc := e2etest.Start(t, tc.build(t))
			t.Setenv(envParse, "true")
			t.Setenv(envInclude, "")
			t.Setenv(envRaw, "")
			rcv := otlptest.Start(t)
			var logs e2etest.LogCapture
			e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t)))
			if !logs.Contains("probe loaded", "net/http server") {
				t.Fatal("the net/http server probe did not load")
			}
			base := "http://" + proc.Addr
			reqs := map[string][]string{ // path -> names of its DB spans
				"/query":     {"SELECT things"},
				"/query-ctx": {"SELECT things"},
				"/exec":      {"DELETE things"},
				"/tx":        {"UPDATE things", "SELECT things"},
				"/prepared":  {"SELECT things"},
				"/error":     {"SELECT things"},
			}
			for p := range reqs {
				get(t, "GET", base+p, nil)
			}
			tr := treesOf(rcv.WaitSpans(t, 13, 20*time.Second))
			if tr.dbSpans() != 7 {
				t.Errorf("%d database spans, want 7", tr.dbSpans())
			}
			for p, want := range reqs {
				for i, s := range tr.children(t, "GET "+p, len(want)) {
					checkFake(t, p, s, want[i])
				}
			}
			checkFakeError(t, tr.children(t, "GET /error", 1)[0])
		})
	}
}

// checkFake checks a span of the fake driver.
func checkFake(t *testing.T, path string, s otlptest.Span, name string) {
	t.Helper()
	if s.Name != name || s.Str("db.system.name") != "other_sql" {
		t.Errorf("%s: span %q system %q, want %q other_sql", path, s.Name, s.Str("db.system.name"), name)
	}
	// A URL: its host and port, not what its path means.
	if s.Str("server.address") != "db.invalid" || s.Int("server.port") != 1234 || s.Attrs["db.namespace"] != nil {
		t.Errorf("%s: server %v:%v, namespace %v", path, s.Attrs["server.address"], s.Attrs["server.port"], s.Attrs["db.namespace"])
	}
}

func checkFakeError(t *testing.T, e otlptest.Span) {
	t.Helper()
	if e.StatusCode != ptrace.StatusCodeError || e.Str("error.type") != "main.fakeError" || e.Attrs["db.response.status_code"] != nil {
		t.Errorf("/error: status %v, error.type %q, db.response.status_code %v", e.StatusCode, e.Str("error.type"), e.Attrs["db.response.status_code"])
	}
}
