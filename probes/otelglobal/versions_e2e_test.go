package otelglobal_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/otelglobal"
)

// otelVersions are the otel releases the global API path is tested on:
// every one since the path exists (v1.33.0 to v1.38.0 route through auto
// sdk v1.1.0, later ones v1.2.1; newSpan is //go:noinline from v1.36.0).
var otelVersions = []string{"v1.33.0", "v1.34.0", "v1.35.0", "v1.36.0", "v1.37.0", "v1.38.0", "v1.39.0",
	"v1.40.0", "v1.41.0", "v1.42.0", "v1.43.0", "v1.44.0", "v1.45.0", "v1.46.0", "v1.47.0"}

// buildWithOtel builds testdata/globalmin in a module of its own that
// requires otel at version v (through the module proxy).
func buildWithOtel(t *testing.T, v string) string {
	t.Helper()
	return testenv.BuildModule(t, "testdata/globalmin", []string{"go.opentelemetry.io/otel " + v},
		testenv.Name("globalmin-"+v))
}

// TestGlobalOtelVersions: on every otel release with the auto path, the
// manual span is exported as the server span's child with what the app
// set.
func TestGlobalOtelVersions(t *testing.T) {
	testenv.RequireRoot(t)
	for _, v := range otelVersions {
		t.Run(v, func(t *testing.T) {
			proc := e2etest.Start(t, buildWithOtel(t, v))
			rcv := otlptest.Start(t)
			instrument(t, proc.Cmd.Process.Pid, rcv)
			seen := strings.Fields(get(t, "http://"+proc.Addr+"/"))
			spans := byName(t, rcv.WaitSpans(t, 2, 20*time.Second))
			m, server := spans["Manual"], spans["GET /"]
			if m.ParentID != server.SpanID || m.TraceID != server.TraceID || m.SpanID.IsEmpty() {
				t.Errorf("Manual %s/%s parent %s, want a child of the server span %s/%s", m.TraceID, m.SpanID, m.ParentID, server.TraceID, server.SpanID)
			}
			if m.Str("k") != "v" || m.StatusCode != ptrace.StatusCodeError || m.StatusMsg != "failed" || m.Scope != "globalmin" {
				t.Errorf("Manual attributes %v status %v %q scope %q", m.Attrs, m.StatusCode, m.StatusMsg, m.Scope)
			}
			if len(seen) == 2 && kernel.Detect().WriteUser == nil && seen[1] != m.SpanID.String() {
				t.Errorf("app saw span %s, exported %s", seen[1], m.SpanID)
			}
		})
	}
}

// TestGlobalOtelTooOld: before v1.33 otel has no auto path; the probe says
// what to do instead, before anything is loaded.
func TestGlobalOtelTooOld(t *testing.T) {
	bin, err := binary.Open(buildWithOtel(t, "v1.32.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	tg := &probe.Target{Bin: bin, Settings: probe.Settings{otelglobal.EnvGlobal: "true"}}
	_, err = otelglobal.Probe{}.Vars(tg, nil)
	if !errors.Is(err, probe.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "needs otel >= v1.33.0, use sdk.TracerProvider()") {
		t.Errorf("Vars = %v, want the version advice", err)
	}
}
