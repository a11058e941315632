package otlptest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/otlptest"
)

// emit sends one span with every field the receiver flattens, and returns
// its context and the link's.
func emit(t *testing.T, exp sdktrace.SpanExporter) (span, link trace.SpanContext) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "shop"))),
	)
	tr := tp.Tracer("example.com/lib", trace.WithInstrumentationVersion("v1.2.3"))
	_, linked := tr.Start(context.Background(), "other")
	linked.End()
	start := time.Unix(1700000000, 123456789)
	_, s := tr.Start(context.Background(), "GET /items",
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(start),
		trace.WithLinks(trace.Link{SpanContext: linked.SpanContext(), Attributes: []attribute.KeyValue{attribute.Bool("follows", true)}}),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 503)),
	)
	s.AddEvent("retry", trace.WithTimestamp(start.Add(time.Millisecond)), trace.WithAttributes(attribute.Int("attempt", 2)))
	s.SetStatus(codes.Error, "unavailable")
	s.End(trace.WithTimestamp(start.Add(5 * time.Millisecond)))
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatalf("shutting down tracer provider: %v", err)
	}
	return s.SpanContext(), linked.SpanContext()
}

func check(t *testing.T, r *otlptest.Receiver, sc, lc trace.SpanContext) {
	t.Helper()
	spans := r.WaitSpans(t, 2, 10*time.Second)
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	s := spans[1]
	start := time.Unix(1700000000, 123456789)
	if s.Name != "GET /items" || s.Kind != ptrace.SpanKindClient {
		t.Errorf("name, kind = %q, %v", s.Name, s.Kind)
	}
	if s.TraceID != pcommon.TraceID(sc.TraceID()) || s.SpanID != pcommon.SpanID(sc.SpanID()) || !s.ParentID.IsEmpty() {
		t.Errorf("IDs = %v %v parent %v, want %v %v", s.TraceID, s.SpanID, s.ParentID, sc.TraceID(), sc.SpanID())
	}
	if !s.Start.Equal(start) || s.End.Sub(s.Start) != 5*time.Millisecond {
		t.Errorf("times = %v .. %v", s.Start, s.End)
	}
	if s.Str("http.request.method") != "GET" || s.Int("http.response.status_code") != 503 || s.Str("missing") != "" || s.Int("http.request.method") != 0 {
		t.Errorf("attributes = %v", s.Attrs)
	}
	if s.StatusCode != ptrace.StatusCodeError || s.StatusMsg != "unavailable" {
		t.Errorf("status = %v %q", s.StatusCode, s.StatusMsg)
	}
	if s.Resource["service.name"] != "shop" || s.Scope != "example.com/lib" || s.ScopeVersion != "v1.2.3" {
		t.Errorf("resource %v, scope %q %q", s.Resource, s.Scope, s.ScopeVersion)
	}
	if len(s.Events) != 1 || s.Events[0].Name != "retry" || !s.Events[0].Time.Equal(start.Add(time.Millisecond)) || s.Events[0].Attrs["attempt"] != int64(2) {
		t.Errorf("events = %+v", s.Events)
	}
	if len(s.Links) != 1 || s.Links[0].SpanID != pcommon.SpanID(lc.SpanID()) || s.Links[0].Attrs["follows"] != true {
		t.Errorf("links = %+v", s.Links)
	}
}

func TestHTTP(t *testing.T) {
	r := otlptest.Start(t)
	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(r.Endpoint()+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	sc, lc := emit(t, exp)
	check(t, r, sc, lc)
}

func TestHTTPGzip(t *testing.T) {
	r := otlptest.Start(t)
	exp, err := otlptracehttp.New(t.Context(),
		otlptracehttp.WithEndpointURL(r.Endpoint()+"/v1/traces"),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	sc, lc := emit(t, exp)
	check(t, r, sc, lc)
}

func TestGRPC(t *testing.T) {
	r := otlptest.Start(t)
	exp, err := otlptracegrpc.New(t.Context(), otlptracegrpc.WithEndpointURL(r.GRPCEndpoint()))
	if err != nil {
		t.Fatal(err)
	}
	sc, lc := emit(t, exp)
	check(t, r, sc, lc)
}

// TestEnv: the environment from Env configures autoexport, as it would a
// child process.
func TestEnv(t *testing.T) {
	r := otlptest.Start(t)
	for _, kv := range r.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	exp, err := autoexport.NewSpanExporter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sc, lc := emit(t, exp)
	check(t, r, sc, lc)
	if got := r.Spans(); len(got) != 2 {
		t.Fatalf("Spans() = %d spans, want 2", len(got))
	}
}

// fatalTB records a failure instead of ending the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitSpansTimeout(t *testing.T) {
	r := otlptest.Start(t)
	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(r.Endpoint()+"/v1/traces"))
	if err != nil {
		t.Fatal(err)
	}
	emit(t, exp)
	ftb := &fatalTB{TB: t}
	begin := time.Now()
	r.WaitSpans(ftb, 3, 200*time.Millisecond)
	if d := time.Since(begin); d < 200*time.Millisecond {
		t.Errorf("WaitSpans gave up after %v, want 200ms", d)
	}
	if !strings.Contains(ftb.msg, "got 2 spans") || !strings.Contains(ftb.msg, "GET /items(example.com/lib)") {
		t.Errorf("failure message = %q, want the spans received", ftb.msg)
	}
}
