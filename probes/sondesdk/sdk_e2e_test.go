package sondesdk_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
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

// start runs the fixture instrumented.
func start(t *testing.T) (string, *otlptest.Receiver) {
	t.Helper()
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/sdkapp"))
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	return "http://" + proc.Addr, rcv
}

func find(spans []otlptest.Span, name string) otlptest.Span {
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	return otlptest.Span{}
}

// TestAnnotations: attributes of every type, an event and an error status
// set through sdk.SpanFromContext in a handler land on the exported
// eBPF server span; attributes set inside a query land on its database
// span. Under kernel lockdown: nothing is written into the target from
// BPF.
func TestAnnotations(t *testing.T) {
	base, rcv := start(t)
	if got := get(t, base+"/annotate"); !strings.Contains(got, "ok true") {
		t.Fatalf("handler says %q: the sdk did not learn it is attached", got)
	}
	spans := rcv.WaitSpans(t, 2, 20*time.Second)
	server := find(spans, "GET /annotate")
	var db otlptest.Span
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient {
			db = s
		}
	}
	want := map[string]any{"user.id": "u-42", "cart.items": int64(3), "cart.total": 12.5, "cart.gift": true,
		"cart.skus": []any{"a-1", "b-2"}, "http.response.status_code": int64(200)}
	for k, v := range want {
		if fmt.Sprint(server.Attrs[k]) != fmt.Sprint(v) {
			t.Errorf("server span %s = %v, want %v", k, server.Attrs[k], v)
		}
	}
	if server.StatusCode != ptrace.StatusCodeError || server.StatusMsg != "payment declined" {
		t.Errorf("server span status %v %q, want Error \"payment declined\"", server.StatusCode, server.StatusMsg)
	}
	if len(server.Events) != 1 || server.Events[0].Name != "checkout.started" || server.Events[0].Attrs["step"] != int64(1) {
		t.Errorf("server span events %+v", server.Events)
	}
	if db.ParentID != server.SpanID || db.Str("driver.note") != "inside the query" || db.Int("driver.rows") != 0 {
		t.Errorf("database span: parent %s (server %s), attributes %v", db.ParentID, server.SpanID, db.Attrs)
	}
	if _, ok := server.Attrs["driver.note"]; ok {
		t.Errorf("the query's attribute landed on the server span too")
	}
}

// TestTracerProvider: spans of sdk.TracerProvider() join the eBPF spans
// (server -> Checkout -> database span, Checkout -> Charge), keep every
// field, and the app sees their span IDs; it sees their trace ID where
// BPF may write it (the kernel-matrix VMs), not under lockdown.
func TestTracerProvider(t *testing.T) {
	base, rcv := start(t)
	seen := strings.Fields(get(t, base+"/provider"))
	spans := rcv.WaitSpans(t, 4, 20*time.Second)
	server, co, charge := find(spans, "GET /provider"), find(spans, "Checkout"), find(spans, "Charge")
	var db otlptest.Span
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient {
			db = s
		}
	}
	if len(seen) != 4 || co.SpanID.IsEmpty() || charge.SpanID.IsEmpty() {
		t.Fatalf("app saw %q; spans %v", seen, spans)
	}
	if co.ParentID != server.SpanID || co.TraceID != server.TraceID {
		t.Errorf("Checkout parent %s/%s, want the server span %s/%s", co.TraceID, co.ParentID, server.TraceID, server.SpanID)
	}
	if db.ParentID != co.SpanID || charge.ParentID != co.SpanID || charge.TraceID != server.TraceID {
		t.Errorf("database span parent %s, Charge parent %s trace %s; want Checkout %s in %s", db.ParentID, charge.ParentID, charge.TraceID, co.SpanID, server.TraceID)
	}
	if seen[1] != co.SpanID.String() || seen[3] != charge.SpanID.String() {
		t.Errorf("app saw span IDs %s %s, exported %s %s", seen[1], seen[3], co.SpanID, charge.SpanID)
	}
	if kernel.Detect().WriteUser == nil && (seen[0] != server.TraceID.String() || seen[2] != server.TraceID.String()) {
		t.Errorf("app saw trace IDs %s %s, exported %s", seen[0], seen[2], server.TraceID)
	}
	if co.Scope != "sdkapp" || co.ScopeVersion != "v0.0.7" || co.Str("order.id") != "o-1" || co.Kind != ptrace.SpanKindInternal {
		t.Errorf("Checkout scope %q %q, attributes %v, kind %v", co.Scope, co.ScopeVersion, co.Attrs, co.Kind)
	}
	if co.StatusCode != ptrace.StatusCodeError || co.StatusMsg != "no orders" || len(co.Events) != 1 ||
		co.Events[0].Name != "exception" || co.Events[0].Attrs["exception.message"] != "no such table: orders" {
		t.Errorf("Checkout status %v %q, events %+v", co.StatusCode, co.StatusMsg, co.Events)
	}
	if len(charge.Events) != 1 || charge.Events[0].Name != "charged" || !charge.End.After(charge.Start) {
		t.Errorf("Charge events %+v, times %v..%v", charge.Events, charge.Start, charge.End)
	}
}
