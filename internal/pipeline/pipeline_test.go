package pipeline_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/go-logr/logr/testr"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/pipeline"
)

var testScope = instrumentation.Scope{Name: "github.com/sonde-go/auto/probes/nethttp", Version: "v0.1.0"}

func newPipeline(t *testing.T, exp sdktrace.SpanExporter, queue int, log logr.Logger) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.New(pipeline.Config{Exporter: exp, QueueSize: queue, Logger: log})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	return p
}

func shutdown(t *testing.T, p *pipeline.Pipeline) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestNewNeedsExporter(t *testing.T) {
	if _, err := pipeline.New(pipeline.Config{}); !errors.Is(err, pipeline.ErrNoExporter) {
		t.Fatalf("New without exporter = %v, want ErrNoExporter", err)
	}
}

// TestOTLP sends decoded spans through the real OTLP/HTTP exporter to a
// real receiver.
func TestOTLP(t *testing.T) {
	r := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.Endpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	exp, err := otlptracehttp.New(t.Context())
	if err != nil {
		t.Fatalf("otlptracehttp.New: %v", err)
	}
	res := resource.NewSchemaless(attribute.String("service.name", "shop"))
	p, err := pipeline.New(pipeline.Config{Exporter: exp, Resource: res, Logger: testr.New(t)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)

	start := monoNow(t)
	wallStart := time.Now()
	const dur = 1500*time.Microsecond + 7 // odd nanoseconds must survive
	tid := [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	root := httpEvent{Kind: kindHTTP, Status: 503, Start: start, End: start + uint64(dur),
		TraceID: tid, SpanID: [8]byte{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}, Method: [16]byte{'P', 'O', 'S', 'T'}}
	child := root
	child.Status = 200
	child.SpanID = [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	child.ParentID = root.SpanID
	child.Start += 100
	child.End -= 100
	copy(child.Method[:], "GET\x00")
	p.Handle(root.bytes())
	p.Handle(child.bytes())
	shutdown(t, p)

	spans := r.WaitSpans(t, 2, 10*time.Second)
	if len(spans) != 2 {
		t.Fatalf("got %d spans, want 2", len(spans))
	}
	byName := map[string]otlptest.Span{}
	for _, s := range spans {
		byName[s.Name] = s
	}
	rs, cs := byName["POST"], byName["GET"]
	if rs.TraceID != pcommon.TraceID(tid) || cs.TraceID != pcommon.TraceID(tid) {
		t.Errorf("trace IDs = %v, %v, want %x", rs.TraceID, cs.TraceID, tid)
	}
	if rs.SpanID != pcommon.SpanID(root.SpanID) || !rs.ParentID.IsEmpty() {
		t.Errorf("root span ID %v parent %v, want %x and none", rs.SpanID, rs.ParentID, root.SpanID)
	}
	if cs.SpanID != pcommon.SpanID(child.SpanID) || cs.ParentID != pcommon.SpanID(root.SpanID) {
		t.Errorf("child span ID %v parent %v, want %x and %x", cs.SpanID, cs.ParentID, child.SpanID, root.SpanID)
	}
	if d := rs.Start.Sub(wallStart); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Errorf("root start is %v away from the wall time it was taken at", d)
	}
	if d := rs.End.Sub(rs.Start); d != dur {
		t.Errorf("root duration = %v, want %v", d, dur)
	}
	if d := cs.Start.Sub(rs.Start); d != 100 {
		t.Errorf("child starts %v after root, want 100ns", d)
	}
	if rs.Kind != ptrace.SpanKindServer {
		t.Errorf("kind = %v, want server", rs.Kind)
	}
	if rs.Flags&0xff != 1 {
		t.Errorf("flags = %#x, want sampled", rs.Flags)
	}
	if rs.Str("http.request.method") != "POST" || rs.Int("http.response.status_code") != 503 {
		t.Errorf("root attributes = %v", rs.Attrs)
	}
	if rs.StatusCode != ptrace.StatusCodeError || rs.StatusMsg != "server error" || cs.StatusCode != ptrace.StatusCodeUnset {
		t.Errorf("statuses = %v %q, %v", rs.StatusCode, rs.StatusMsg, cs.StatusCode)
	}
	for _, s := range spans {
		if s.Resource["service.name"] != "shop" {
			t.Errorf("resource = %v, want service.name=shop", s.Resource)
		}
		if s.Scope != testScope.Name || s.ScopeVersion != testScope.Version {
			t.Errorf("scope = %s %s, want %s %s", s.Scope, s.ScopeVersion, testScope.Name, testScope.Version)
		}
	}
	want := pipeline.Stats{Events: 2, Spans: 2, Exported: 2}
	if got := p.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
}

// stuckExporter is a collector that is down: its first export hangs until
// release is closed and then fails; later exports succeed.
type stuckExporter struct {
	release  chan struct{}
	calls    atomic.Int32
	exported atomic.Int32
	shutdown chan struct{}
}

func newStuckExporter() *stuckExporter {
	return &stuckExporter{release: make(chan struct{}), shutdown: make(chan struct{})}
}

func (e *stuckExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if e.calls.Add(1) == 1 {
		<-e.release
		return errDown
	}
	e.exported.Add(int32(len(spans)))
	return nil
}

func (e *stuckExporter) Shutdown(context.Context) error {
	close(e.shutdown)
	return nil
}

// TestExporterDown: a hung exporter must not block Handle or grow memory;
// spans beyond the queue are dropped and counted exactly.
func TestExporterDown(t *testing.T) {
	exp := newStuckExporter()
	p := newPipeline(t, exp, 4, testr.New(t))

	begin := time.Now()
	for i := range 100 {
		p.Handle(event(t, byte(i+1)))
	}
	if d := time.Since(begin); d > time.Second {
		t.Errorf("100 records took %v with the exporter down", d)
	}
	if got, want := p.Stats(), (pipeline.Stats{Events: 100, Spans: 100, Dropped: 96}); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}

	// The hung export fails and frees its slots. The batcher sends its
	// first span at once, so that export holds 1 to 4 of the accepted
	// spans (as the batcher goroutine was scheduled); the rest follow in
	// a later batch, which succeeds.
	close(exp.release)
	waitFor(t, func() bool { s := p.Stats(); return s.ExportErrors+s.Exported == 4 })
	failed := p.Stats().ExportErrors
	if failed < 1 || failed > 4 {
		t.Fatalf("ExportErrors = %d, want the hung export's 1 to 4 spans", failed)
	}
	for i := range 3 {
		p.Handle(event(t, byte(i+1)))
	}
	shutdown(t, p)
	want := pipeline.Stats{Events: 103, Spans: 103, Dropped: 96, ExportErrors: failed, Exported: 7 - failed}
	if got := p.Stats(); got != want {
		t.Fatalf("final Stats = %+v, want %+v", got, want)
	}
	if n := exp.exported.Load(); uint64(n) != 7-failed {
		t.Fatalf("exporter got %d spans, want %d", n, 7-failed)
	}
}

// TestShutdownTimeout: spans an unresponsive exporter still holds when
// Shutdown gives up are dropped, and the final Stats do not change after.
func TestShutdownTimeout(t *testing.T) {
	exp := newStuckExporter()
	t.Cleanup(func() { close(exp.release) })
	p := newPipeline(t, exp, 0, logr.Discard())
	p.Handle(event(t, 1))
	p.Handle(event(t, 2))
	p.AddKernelDrops(5)

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want deadline exceeded", err)
	}
	want := pipeline.Stats{Events: 2, Spans: 2, Dropped: 2, KernelDrops: 5}
	if got := p.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if err := p.Shutdown(context.Background()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Shutdown = %v, want the first one's error", err)
	}

	// Let the export fail late; the processor then shuts the exporter down.
	exp.release <- struct{}{}
	<-exp.shutdown
	p.Handle(event(t, 3))
	if got := p.Stats(); got != want {
		t.Fatalf("Stats after late export = %+v, want %+v", got, want)
	}
}

// countExporter counts the spans it is given.
type countExporter struct{ n atomic.Int64 }

func (e *countExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.n.Add(int64(len(spans)))
	return nil
}

func (*countExporter) Shutdown(context.Context) error { return nil }

// waitFor waits up to 5 s for cond to hold.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, 5*time.Second, func() error {
		if !cond() {
			return errors.New("condition not reached")
		}
		return nil
	})
}

// logLines is a logger that keeps what it prints.
type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, args)
	}, funcr.Options{Verbosity: 1})
}

func (l *logLines) count(substr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, substr) {
			n++
		}
	}
	return n
}

func TestGarbage(t *testing.T) {
	var logs logLines
	exp := &countExporter{}
	p := newPipeline(t, exp, 0, logs.logger())
	p.Register(2, testScope, func([]byte, *pipeline.Clock) (tracetest.SpanStub, error) {
		var a []int
		_ = a[3] // a decoder bug
		return tracetest.SpanStub{}, nil
	})

	zeroIDs := httpEvent{Kind: kindHTTP, Method: [16]byte{'G'}}.bytes()
	for _, raw := range [][]byte{
		zeroIDs,             // invalid span context
		{2, 0, 0, 0},        // decoder panics
		{99, 0, 0, 0},       // unknown kind
		{0, 0, 0, 0xf},      // unknown kind
		nil, {1}, {1, 0, 0}, // too short for a kind
		{kindHTTP, 0, 0, 0}, event(t, 1)[:20], // too short for the struct
	} {
		p.Handle(raw)
	}
	want := pipeline.Stats{Events: 9, DecodeErrors: 7, UnknownKinds: 2}
	if got := p.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	if n := logs.count(pipeline.ErrInvalidSpanContext.Error()); n != 1 {
		t.Errorf("logged invalid span context %d times, want 1", n)
	}
	if n := logs.count("decoder panicked"); n != 1 {
		t.Errorf("logged the decoder panic %d times, want 1", n)
	}

	// Random records of known and unknown kinds: counted, logged a few times.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		raw := make([]byte, rng.IntN(100))
		for i := range raw {
			raw[i] = byte(rng.UintN(256))
		}
		if len(raw) >= 4 && rng.IntN(2) == 0 {
			raw[0], raw[1], raw[2], raw[3] = byte(rng.IntN(3)), 0, 0, 0
		}
		p.Handle(raw)
	}
	p.Handle(event(t, 1))
	shutdown(t, p)
	s := p.Stats()
	if s.Events != 2010 || s.Spans+s.DecodeErrors+s.UnknownKinds != s.Events || s.Exported != s.Spans || s.Spans == 0 {
		t.Fatalf("Stats = %+v: records not all accounted for", s)
	}
	if n := exp.n.Load(); uint64(n) != s.Spans {
		t.Fatalf("exporter got %d spans, Stats say %d", n, s.Spans)
	}
	if n := logs.count("unknown event kind"); n != 5 {
		t.Errorf("logged unknown kinds %d times, want 5", n)
	}
	if n := logs.count("dropping event"); n != 10 {
		t.Errorf("logged %d dropped events, want 10 (5 decode errors, 5 unknown kinds)", n)
	}
	if n := logs.count("span pipeline stopped"); n != 1 {
		t.Errorf("logged the final stats %d times, want 1", n)
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	p := newPipeline(t, tracetest.NewNoopExporter(), 0, logr.Discard())
	defer shutdown(t, p)
	defer func() {
		if recover() == nil {
			t.Fatal("second Register of a kind did not panic")
		}
	}()
	p.Register(kindHTTP, testScope, decodeHTTP)
}

func FuzzHandle(f *testing.F) {
	p, err := pipeline.New(pipeline.Config{Exporter: tracetest.NewNoopExporter(), QueueSize: 16})
	if err != nil {
		f.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	f.Cleanup(func() { p.Shutdown(context.Background()) })
	f.Add([]byte{})
	f.Add([]byte{kindHTTP, 0, 0, 0})
	f.Add(event(f, 1))
	f.Fuzz(func(t *testing.T, raw []byte) {
		p.Handle(raw)
	})
}
