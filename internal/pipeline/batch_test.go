package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// slowExporter takes delay per export and records each batch's size.
type slowExporter struct {
	delay time.Duration
	mu    sync.Mutex
	sizes []int
}

func (e *slowExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	select {
	case <-time.After(e.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	e.sizes = append(e.sizes, len(spans))
	e.mu.Unlock()
	return nil
}

func (*slowExporter) Shutdown(context.Context) error { return nil }

// TestSlowExporterBatches: with an exporter slower than the batch timeout,
// the spans that arrived during an export leave together in the next one,
// not one or two at a time.
func TestSlowExporterBatches(t *testing.T) {
	exp := &slowExporter{delay: 150 * time.Millisecond}
	p, err := pipeline.New(pipeline.Config{Exporter: exp, BatchTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	const spans = 400
	for i := range spans {
		p.Handle(event(t, byte(i%250+1)))
		time.Sleep(2 * time.Millisecond) // 800 ms in all: several exports
	}
	shutdown(t, p)
	exp.mu.Lock()
	sizes := slices.Clone(exp.sizes)
	exp.mu.Unlock()
	total := 0
	for _, n := range sizes {
		total += n
	}
	if total != spans {
		t.Fatalf("exported %d spans, want %d", total, spans)
	}
	// About 50 spans arrive per batch timeout, 75 per export; the first
	// span leaves alone (TestBatchFirstSpan).
	if sizes[0] != 1 {
		t.Errorf("first batch has %d spans, want 1: %v", sizes[0], sizes)
	}
	for i, n := range sizes[1 : len(sizes)-1] { // the last one is what shutdown found
		if n < 25 {
			t.Errorf("batch %d of %d has %d spans: %v", i+1, len(sizes), n, sizes)
		}
	}
	t.Logf("batch sizes: %v", sizes)
	if len(sizes) > spans/25 {
		t.Errorf("%d batches for %d spans: %v", len(sizes), spans, sizes)
	}
}

// TestBatchFull: a full batch leaves at once, without waiting for the
// batch timeout.
func TestBatchFull(t *testing.T) {
	exp := &countExporter{}
	p, err := pipeline.New(pipeline.Config{Exporter: exp, QueueSize: 8, BatchTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	for i := range 8 {
		p.Handle(event(t, byte(i+1)))
	}
	waitFor(t, func() bool { return exp.n.Load() == 8 })
	shutdown(t, p)
}

// TestBatchFirstSpan: the first span leaves at once, the next ones wait
// for their batch.
func TestBatchFirstSpan(t *testing.T) {
	exp := &countExporter{}
	p, err := pipeline.New(pipeline.Config{Exporter: exp, QueueSize: 8, BatchTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	p.Handle(event(t, 1))
	waitFor(t, func() bool { return exp.n.Load() == 1 })
	for i := range 3 {
		p.Handle(event(t, byte(i+2)))
	}
	time.Sleep(100 * time.Millisecond)
	if n := exp.n.Load(); n != 1 {
		t.Errorf("%d spans exported before the batch filled or timed out, want 1", n)
	}
	shutdown(t, p)
	if n := exp.n.Load(); n != 4 {
		t.Errorf("%d spans exported after shutdown, want 4", n)
	}
}

// ctxExporter is a collector that does not answer: each export waits for
// its context.
type ctxExporter struct {
	cancelled atomic.Int32
	shutdown  atomic.Int32
}

func (e *ctxExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	<-ctx.Done()
	e.cancelled.Add(1)
	return ctx.Err()
}

func (e *ctxExporter) Shutdown(context.Context) error {
	e.shutdown.Add(1)
	return nil
}

// TestShutdownSlowCollector: Shutdown gives up when its context ends,
// cancels the export in progress, says how many spans were not sent and
// counts them as dropped.
func TestShutdownSlowCollector(t *testing.T) {
	exp := &ctxExporter{}
	var logs logLines
	p, err := pipeline.New(pipeline.Config{Exporter: exp, Logger: logs.logger()})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	for i := range 7 {
		p.Handle(event(t, byte(i+1)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.Shutdown(ctx)
	if d := time.Since(start); d > time.Second {
		t.Errorf("Shutdown took %v with a 200ms deadline", d)
	}
	var u *pipeline.UnsentError
	if !errors.As(err, &u) || u.Spans != 7 || !errors.Is(err, pipeline.ErrShutdownTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want 7 spans not sent", err)
	}
	if want := "span export unfinished at shutdown: 7 spans not sent (context deadline exceeded)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if got := p.Stats(); got.Dropped != 7 || got.Exported != 0 {
		t.Errorf("Stats = %+v, want 7 dropped", got)
	}
	waitFor(t, func() bool { return exp.cancelled.Load() == 1 && exp.shutdown.Load() == 1 })
	if n := logs.count(`"notSent"=7`); n != 1 {
		t.Errorf("the final stats do not say 7 spans were not sent:\n%v", logs.lines)
	}
}

// flakyExporter fails while down is set.
type flakyExporter struct{ down atomic.Bool }

func (e *flakyExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	if e.down.Load() {
		return errDown
	}
	return nil
}

func (*flakyExporter) Shutdown(context.Context) error { return nil }

// TestLossSummaries: while spans are lost a summary is logged every
// interval, no more; once they stop, one line says so.
func TestLossSummaries(t *testing.T) {
	exp := &flakyExporter{}
	exp.down.Store(true)
	var logs logLines
	const every = 100 * time.Millisecond
	p, err := pipeline.New(pipeline.Config{Exporter: exp, Logger: logs.logger(), LossReportInterval: every, BatchTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Register(kindHTTP, testScope, decodeHTTP)
	start := time.Now()
	for time.Since(start) < 5*every+every/2 {
		p.Handle(event(t, 1))
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, func() bool { return logs.count("losing spans: summary of the last 100ms") >= 5 })
	n := logs.count("losing spans: summary")
	if n > 6 {
		t.Errorf("%d summaries in %v at one per %v", n, time.Since(start), every)
	}
	if logs.count(errDown.Error()) < 2 {
		t.Errorf("the summaries do not carry the export error:\n%v", logs.lines)
	}
	if logs.count("exporting spans") != 1 {
		t.Errorf("the export error is logged %d times by itself, want once", logs.count("exporting spans"))
	}
	exp.down.Store(false)
	p.Handle(event(t, 2))
	waitFor(t, func() bool { return logs.count("no span lost in the last 100ms") == 1 })
	time.Sleep(3 * every)
	if n := logs.count("no span lost"); n != 1 {
		t.Errorf("recovery logged %d times, want once", n)
	}
	shutdown(t, p)
}
