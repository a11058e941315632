package main

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// stub returns a span of trace tid with span ID sid under parent pid (0:
// none), starting at t0+start and lasting dur.
func stub(tid, sid, pid byte, name string, kind trace.SpanKind, start, dur time.Duration, attrs ...attribute.KeyValue) tracetest.SpanStub {
	s := tracetest.SpanStub{
		Name:        name,
		SpanKind:    kind,
		StartTime:   t0.Add(start),
		EndTime:     t0.Add(start + dur),
		Attributes:  attrs,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{tid}, SpanID: trace.SpanID{sid}}),
	}
	if pid != 0 {
		s.Parent = trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{tid}, SpanID: trace.SpanID{pid}})
	}
	return s
}

func TestWriteTraces(t *testing.T) {
	ms := time.Millisecond
	sec := time.Second
	failed := stub(2, 5, 0, "POST /todos", trace.SpanKindServer, -sec, 1500*ms,
		attribute.Int("http.response.status_code", 500), attribute.String("url.path", "/todos"))
	failed.Status = sdktrace.Status{Code: codes.Error, Description: "boom"}
	stubs := []tracetest.SpanStub{
		// Trace 1 (starts second): a server span with two children given
		// out of order, one with a child of its own.
		stub(1, 3, 1, "SELECT todos", trace.SpanKindClient, sec+3*ms, 410*time.Microsecond,
			attribute.String("db.system.name", "sqlite"), attribute.String("db.query.text", "SELECT id FROM todos")),
		stub(1, 1, 0, "GET /todos/{id}", trace.SpanKindServer, sec, 1840*time.Microsecond,
			attribute.String("http.request.method", "GET"), attribute.String("url.path", "/todos/1"),
			attribute.Int("http.response.status_code", 200)),
		stub(1, 2, 1, "BEGIN", trace.SpanKindClient, sec+2*ms, 25*ms),
		stub(1, 4, 2, "sqlite step", trace.SpanKindInternal, sec+2*ms, 0),
		// A span whose parent (a remote caller) is not in the set is a root.
		stub(1, 6, 9, "GET /healthz", trace.SpanKindServer, 500*ms, 12345*ms),
		// Trace 2 (starts first): one span, with an error.
		failed,
	}
	spans := tracetest.SpanStubs(stubs).Snapshots()
	var b strings.Builder
	n, err := writeTraces(&b, spans)
	if err != nil {
		t.Fatal(err)
	}
	want := `trace 02000000000000000000000000000000
  POST /todos  [server]  1.50s  url.path=/todos  http.response.status_code=500  ERROR: boom

trace 01000000000000000000000000000000
  GET /healthz  [server]  12.35s
  GET /todos/{id}  [server]  1.84ms  url.path=/todos/1  http.response.status_code=200
    BEGIN  [client]  25.0ms
      sqlite step  [internal]  0.00ms
    SELECT todos  [client]  0.41ms  db.system.name=sqlite  db.query.text=SELECT id FROM todos
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if n != 2 {
		t.Errorf("writeTraces returned %d traces, want 2", n)
	}
}

func TestWriteTracesCycle(t *testing.T) {
	// Spans that are each other's parent have no root; each is printed once.
	spans := tracetest.SpanStubs{
		stub(1, 1, 2, "a", trace.SpanKindInternal, 0, time.Millisecond),
		stub(1, 2, 1, "b", trace.SpanKindInternal, time.Millisecond, time.Millisecond),
	}.Snapshots()
	var b strings.Builder
	if _, err := writeTraces(&b, spans); err != nil {
		t.Fatal(err)
	}
	want := "trace 01000000000000000000000000000000\n  a  [internal]  1.00ms\n    b  [internal]  1.00ms\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestWriteTracesEmpty(t *testing.T) {
	var b strings.Builder
	n, err := writeTraces(&b, nil)
	if err != nil || n != 0 || b.Len() != 0 {
		t.Errorf("writeTraces(nil) = %d, %v, %q; want 0, nil, empty", n, err, b.String())
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                         "0.00ms",
		1840 * time.Microsecond:   "1.84ms",
		9999 * time.Microsecond:   "10.00ms",
		10 * time.Millisecond:     "10.0ms",
		999400 * time.Microsecond: "999.4ms",
		time.Second:               "1.00s",
		-time.Millisecond:         "?",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestSpanLineMultiLine: a multi-line statement stays on its span's line.
func TestSpanLineMultiLine(t *testing.T) {
	s := stub(1, 1, 0, "CREATE todos", trace.SpanKindClient, 0, time.Millisecond,
		attribute.String("db.system.name", "sqlite"),
		attribute.String("db.query.text", "CREATE TABLE IF NOT EXISTS todos (\n\tid INTEGER PRIMARY KEY,\n\tdone BOOLEAN NOT NULL DEFAULT FALSE\n)"))
	s.Status = sdktrace.Status{Code: codes.Error, Description: "near \"(\":\n syntax error"}
	got := spanLine(tracetest.SpanStubs{s}.Snapshots()[0])
	want := `CREATE todos  [client]  1.00ms  db.system.name=sqlite  db.query.text=CREATE TABLE IF NOT EXISTS todos ( id INTEGER PRIMARY KEY, done BOOLEAN NOT NULL DEFAULT FALSE )  ERROR: near "(": syntax error`
	if got != want {
		t.Errorf("spanLine:\n got %q\nwant %q", got, want)
	}
}
