package otelglobal_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	bin "github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/process"
	"github.com/sonde-go/auto/probes/otelglobal"
)

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// byName indexes spans by name; a manual span (INTERNAL) seen twice fails
// the test.
func byName(t *testing.T, spans []otlptest.Span) map[string]otlptest.Span {
	t.Helper()
	out := map[string]otlptest.Span{}
	for _, s := range spans {
		if _, ok := out[s.Name]; ok && s.Kind == ptrace.SpanKindInternal {
			t.Errorf("span %q exported twice", s.Name)
		}
		out[s.Name] = s
	}
	return out
}

// instrument attaches to the fixture with the global API switched on and
// waits until the flag is written.
func instrument(t *testing.T, pid int, rcv *otlptest.Receiver) *auto.Instrumentation {
	t.Helper()
	var logs e2etest.LogCapture
	inst := e2etest.Instrument(t, pid, rcv, auto.WithLogger(logs.Logger(t)), auto.WithSetting(otelglobal.EnvGlobal, "true"))
	testenv.Eventually(t, 10*time.Second, func() error {
		if !logs.Contains("switched on the OpenTelemetry API's auto path", "internal/global.autoInstEnabled") {
			return fmt.Errorf("the flag was not switched on")
		}
		return nil
	})
	return inst
}

// TestGlobalSpans: the article's handler (otel.Tracer(..).Start with no
// SDK) gives server span -> AllTodos -> database span, AllTodos with every
// field the app set; a ctx-less query nests under the manual span of its
// goroutine; a span with 300 attributes and 50 events arrives whole; an
// oversized one arrives truncated, marked and counted.
func TestGlobalSpans(t *testing.T) {
	testenv.RequireRoot(t)
	// The auto sdk keeps 128 attributes by default, as the OpenTelemetry
	// SDK does; the app raises its limit.
	proc := e2etest.Start(t, testenv.Build(t, "testdata/globalapp"), "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=5000")
	rcv := otlptest.Start(t)
	inst := instrument(t, proc.Cmd.Process.Pid, rcv)
	base := "http://" + proc.Addr

	get(t, base+"/todos")
	spans := byName(t, rcv.WaitSpans(t, 3, 20*time.Second))
	server, manual := spans["GET /todos"], spans["AllTodos"]
	var db otlptest.Span
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient && s.TraceID == server.TraceID {
			db = s
		}
	}
	if server.SpanID.IsEmpty() || manual.SpanID.IsEmpty() || db.SpanID.IsEmpty() {
		t.Fatalf("want server, AllTodos and database spans, got %v", spans)
	}
	if manual.TraceID != server.TraceID || manual.ParentID != server.SpanID {
		t.Errorf("AllTodos: trace %s parent %s, want the server span %s/%s", manual.TraceID, manual.ParentID, server.TraceID, server.SpanID)
	}
	if db.TraceID != server.TraceID || db.ParentID != manual.SpanID {
		t.Errorf("database span: parent %s, want AllTodos %s (server %s)", db.ParentID, manual.SpanID, server.SpanID)
	}
	checkManual(t, manual)

	get(t, base+"/nocontext")
	spans = byName(t, rcv.WaitSpans(t, 6, 20*time.Second))
	nc := spans["NoContext"]
	var ncDB otlptest.Span
	for _, s := range rcv.Spans() {
		if s.Kind == ptrace.SpanKindClient && s.TraceID == nc.TraceID {
			ncDB = s
		}
	}
	if nc.ParentID != spans["GET /nocontext"].SpanID || ncDB.ParentID != nc.SpanID {
		t.Errorf("NoContext parent %s (server %s), ctx-less query parent %s, want NoContext %s",
			nc.ParentID, spans["GET /nocontext"].SpanID, ncDB.ParentID, nc.SpanID)
	}

	get(t, base+"/big")
	get(t, base+"/huge")
	spans = byName(t, rcv.WaitSpans(t, 10, 20*time.Second))
	b := spans["Big300"]
	if len(b.Attrs) != 300 || len(b.Events) != 50 || b.Attrs[otelTruncated] != nil {
		t.Errorf("Big300: %d attributes, %d events, truncated %v; want 300, 50, not truncated", len(b.Attrs), len(b.Events), b.Attrs[otelTruncated])
	}
	if b.Attrs["attr.299"] != strings.Repeat("v", 16) || b.Events[49].Name != "event.49" {
		t.Errorf("Big300: last attribute %v, last event %q", b.Attrs["attr.299"], b.Events[49].Name)
	}
	h := spans["Big1000"]
	if h.Attrs[otelTruncated] != true || len(h.Attrs) < 100 || len(h.Attrs) > 1000 {
		t.Errorf("Big1000: %d attributes, truncated %v; want a marked prefix", len(h.Attrs), h.Attrs[otelTruncated])
	}
	if h.StatusCode != ptrace.StatusCodeError || h.StatusMsg != "big" || !h.End.After(h.Start) || h.ParentID != spans["GET /huge"].SpanID {
		t.Errorf("Big1000: status %v %q, times %v..%v, parent %s: the tail was not kept", h.StatusCode, h.StatusMsg, h.Start, h.End, h.ParentID)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		if n := inst.Stats().Truncated; n != 1 {
			return fmt.Errorf("%d truncated spans counted, want 1", n)
		}
		return nil
	})
}

const otelTruncated = "sonde.span.truncated"

func checkManual(t *testing.T, s otlptest.Span) {
	t.Helper()
	if s.Kind != ptrace.SpanKindInternal || s.Scope != "globalapp" || s.ScopeVersion != "v1.2.3" {
		t.Errorf("AllTodos: kind %v scope %q %q", s.Kind, s.Scope, s.ScopeVersion)
	}
	want := map[string]any{
		"todo.filter": "open", "todo.limit": int64(50), "todo.ratio": 0.25, "todo.cached": false,
		"todo.tags": []any{"a", "b"}, "todo.ids": []any{int64(1), int64(2), int64(3)},
		"todo.weights": []any{0.5, 1.5}, "todo.flags": []any{true, false},
	}
	for k, v := range want {
		if fmt.Sprint(s.Attrs[k]) != fmt.Sprint(v) {
			t.Errorf("AllTodos %s = %v (%T), want %v", k, s.Attrs[k], s.Attrs[k], v)
		}
	}
	if s.StatusCode != ptrace.StatusCodeError || s.StatusMsg != "listing todos failed" {
		t.Errorf("AllTodos status %v %q", s.StatusCode, s.StatusMsg)
	}
	if len(s.Events) != 2 || s.Events[0].Name != "querying" || s.Events[0].Attrs["attempt"] != int64(1) ||
		s.Events[1].Name != "exception" || s.Events[1].Attrs["exception.message"] != "no such table: todos" {
		t.Errorf("AllTodos events %+v, want querying then exception", s.Events)
	}
	if !s.End.After(s.Start) || time.Since(s.Start) > time.Minute {
		t.Errorf("AllTodos times %v .. %v", s.Start, s.End)
	}
}

// flagValue reads the global API's auto-instrumentation flag in pid.
func flagValue(t *testing.T, exe string, pid int) byte {
	t.Helper()
	f, err := bin.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.ELF().Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name != "go.opentelemetry.io/otel/internal/global.autoInstEnabled" {
			continue
		}
		var p [8]byte
		if err := process.ReadMemory(pid, s.Value, p[:]); err != nil {
			t.Fatal(err)
		}
		var b [1]byte
		if err := process.ReadMemory(pid, binary.LittleEndian.Uint64(p[:]), b[:]); err != nil {
			t.Fatal(err)
		}
		return b[0]
	}
	t.Fatal("no autoInstEnabled symbol")
	return 0
}

// TestGlobalOff: without OTEL_GO_AUTO_GLOBAL the target's memory is never
// written (the flag stays false) and no manual span is exported, while the
// other probes work as ever.
func TestGlobalOff(t *testing.T) {
	testenv.RequireRoot(t)
	exe := testenv.Build(t, "testdata/globalapp")
	proc := e2etest.Start(t, exe)
	rcv := otlptest.Start(t)
	t.Setenv(otelglobal.EnvGlobal, "")
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	get(t, "http://"+proc.Addr+"/todos")
	spans := byName(t, rcv.WaitSpans(t, 2, 20*time.Second))
	time.Sleep(1500 * time.Millisecond) // a manual span would come in the same batch; give a second one time
	spans = byName(t, rcv.Spans())
	if _, ok := spans["AllTodos"]; ok || len(spans) != 2 {
		t.Errorf("spans %v, want the server and database spans only", spans)
	}
	if v := flagValue(t, exe, proc.Cmd.Process.Pid); v != 0 {
		t.Errorf("flag = %d: the target was written without OTEL_GO_AUTO_GLOBAL", v)
	}
}

// TestGlobalOwnProvider: an app that installs its own TracerProvider is
// left alone: its spans go to its exporter only, none to Sonde's.
func TestGlobalOwnProvider(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/globalapp"), "OWN_PROVIDER=1")
	rcv := otlptest.Start(t)
	instrument(t, proc.Cmd.Process.Pid, rcv)
	get(t, "http://"+proc.Addr+"/todos")
	rcv.WaitSpans(t, 2, 20*time.Second)
	testenv.Eventually(t, 5*time.Second, func() error {
		if !strings.Contains(proc.Stdout(), "exported AllTodos") {
			return fmt.Errorf("the app's own exporter did not get AllTodos: %q", proc.Stdout())
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond) // the next batch of Sonde's exporter
	for _, s := range rcv.Spans() {
		if s.Name == "AllTodos" {
			t.Errorf("Sonde exported the app's own manual span")
		}
	}
}

// TestGlobalIDs: where bpf_probe_write_user is allowed (the kernel-matrix
// VMs) the app sees its manual span's exported IDs; under lockdown its
// span.SpanContext() is invalid, as documented, and the exported span
// still has valid IDs.
func TestGlobalIDs(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/globalapp"))
	rcv := otlptest.Start(t)
	instrument(t, proc.Cmd.Process.Pid, rcv)
	seen := strings.Fields(get(t, "http://"+proc.Addr+"/ids"))
	spans := byName(t, rcv.WaitSpans(t, 2, 20*time.Second))
	s := spans["IDs"]
	if len(seen) != 3 || s.SpanID.IsEmpty() || s.ParentID != spans["GET /ids"].SpanID {
		t.Fatalf("app saw %q; exported IDs span %+v", seen, s)
	}
	if kernel.Detect().WriteUser != nil {
		if seen[2] != "false" {
			t.Errorf("under lockdown the app saw a valid span context %q", seen)
		}
		return
	}
	if seen[0] != s.TraceID.String() || seen[1] != s.SpanID.String() || seen[2] != "true" {
		t.Errorf("app saw %q, exported %s %s", seen, s.TraceID, s.SpanID)
	}
}
