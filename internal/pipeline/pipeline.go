package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Defaults and fixed settings of the batching.
const (
	DefaultQueueSize = 8192
	// DefaultLossReportInterval is how often a summary of lost spans is
	// logged while losses go on.
	DefaultLossReportInterval = time.Minute
	batchSize                 = 512
	batchTimeout              = time.Second
	exportTimeout             = 30 * time.Second
	logFirst                  = 5 // problems of each sort logged one by one before the summaries
)

var (
	// ErrNoExporter is returned by New when Config.Exporter is nil.
	ErrNoExporter = errors.New("no span exporter")
	// ErrUnknownKind reports a record whose kind has no decoder.
	ErrUnknownKind = errors.New("unknown event kind")
	// ErrInvalidSpanContext reports a decoded span with a zero trace or
	// span ID.
	ErrInvalidSpanContext = errors.New("invalid span context")
	// ErrShutdownTimeout is matched by the *UnsentError of a Shutdown
	// whose context ended before every span was exported.
	ErrShutdownTimeout = errors.New("span export unfinished at shutdown")

	errDecoderPanic = errors.New("decoder panicked")
)

// Decoder turns one ring buffer record, kind prefix included, into a span.
// raw is reused for the next record: copy what you keep (CString copies).
// The span needs a valid SpanContext, Parent (if any), SpanKind, Name,
// times (use clk), Attributes and Status; the pipeline sets the sampled
// flag, the Resource, and the InstrumentationScope unless the decoder set
// one (a manual span's own scope).
type Decoder func(raw []byte, clk *Clock) (tracetest.SpanStub, error)

// UnsentError is Shutdown's error when its context ended first: Spans
// spans were still waiting or in export, and are counted as dropped.
type UnsentError struct {
	Spans uint64
	Err   error // the context's error
}

func (e *UnsentError) Error() string {
	return fmt.Sprintf("%v: %s not sent (%v)", ErrShutdownTimeout, Count(e.Spans, "span"), e.Err)
}

// Count writes n and noun, plural unless n is 1: "1 span", "3 spans".
func Count(n uint64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Is matches ErrShutdownTimeout.
func (e *UnsentError) Is(target error) bool { return target == ErrShutdownTimeout }

// Unwrap returns the context's error.
func (e *UnsentError) Unwrap() error { return e.Err }

// Config configures a Pipeline.
type Config struct {
	Exporter  sdktrace.SpanExporter // required
	Resource  *resource.Resource    // nil means resource.Default()
	Logger    logr.Logger           // zero means discard
	QueueSize int                   // spans buffered before drops; <= 0 means DefaultQueueSize
	// LossReportInterval is how often, while spans are being lost, a
	// summary of the losses is logged; <= 0 means
	// DefaultLossReportInterval.
	LossReportInterval time.Duration
	// BatchTimeout is how long a span waits for its batch to fill before
	// the batch is exported anyway; <= 0 means one second.
	BatchTimeout time.Duration
}

// handler is a registered Decoder with the scope of its spans, or an
// Annotator.
type handler struct {
	scope    instrumentation.Scope
	decode   Decoder
	annotate Annotator
}

// Pipeline decodes ring buffer records into spans and exports them in
// batches. Its memory is bounded: at most QueueSize spans wait for or are
// in export; beyond that spans are dropped and counted. While spans are
// lost, a summary is logged every LossReportInterval.
type Pipeline struct {
	log       logr.Logger
	res       *resource.Resource
	clock     *Clock
	batch     *batcher
	queueSize int64
	losses    lossReporter
	stopLoss  chan struct{} // closed by Shutdown: ends the loss reports
	lossDone  chan struct{} // closed when they ended

	mu       sync.RWMutex // guards handlers and closed
	handlers map[uint32]handler
	closed   bool

	queued       atomic.Int64 // spans handed to bsp whose export has not returned
	c            counters
	changes      pending      // annotations waiting for their span
	traceChanges traceChanges // trace-wide annotations (tracestate)

	exportMu      sync.Mutex // orders export accounting against the final Stats
	final         *Stats     // set once by Shutdown; guarded by exportMu
	lastExportErr error      // the latest export error; guarded by exportMu

	shutdownOnce sync.Once
	shutdownErr  error

	logDecode, logUnknown, logDrop, logTruncated limiter
	logExport                                    distinct
}

// New returns a Pipeline that exports through cfg.Exporter.
func New(cfg Config) (*Pipeline, error) {
	if cfg.Exporter == nil {
		return nil, ErrNoExporter
	}
	if cfg.Resource == nil {
		cfg.Resource = resource.Default()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.LossReportInterval <= 0 {
		cfg.LossReportInterval = DefaultLossReportInterval
	}
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = batchTimeout
	}
	p := &Pipeline{
		log:          cfg.Logger,
		res:          cfg.Resource,
		clock:        NewClock(),
		queueSize:    int64(cfg.QueueSize),
		handlers:     make(map[uint32]handler),
		logDecode:    limiter{max: logFirst},
		logUnknown:   limiter{max: logFirst},
		logDrop:      limiter{max: 1},
		logTruncated: limiter{max: 1},
		logExport:    distinct{max: maxExportErrors},
		losses:       lossReporter{interval: cfg.LossReportInterval},
		stopLoss:     make(chan struct{}),
		lossDone:     make(chan struct{}),
	}
	p.batch = newBatcher(cfg.Exporter, min(batchSize, cfg.QueueSize), cfg.BatchTimeout, exportTimeout, p.exported)
	go p.reportLosses()
	return p, nil
}

// Register makes d the decoder of records of this kind; their spans carry
// scope. It panics if kind already has a decoder or d is nil.
func (p *Pipeline) Register(kind uint32, scope instrumentation.Scope, d Decoder) {
	if d == nil {
		panic(fmt.Sprintf("pipeline: nil decoder for kind %d", kind))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if h, ok := p.handlers[kind]; ok {
		panic(fmt.Sprintf("pipeline: kind %d registered twice (%s, %s)", kind, h.scope.Name, scope.Name))
	}
	p.handlers[kind] = handler{scope: scope, decode: d}
}

// Handle decodes one record and queues its span for export. Short or
// garbage records, unknown kinds and full queues are counted, and the
// first few are logged; Handle never blocks on the exporter. It is safe
// for concurrent use.
func (p *Pipeline) Handle(raw []byte) {
	p.c.events.Add(1)
	if len(raw) < 4 {
		p.c.decodeErrors.Add(1)
		p.logProblem(&p.logDecode, fmt.Errorf("reading event kind: %w: %d bytes", ErrShortRecord, len(raw)), "dropping event")
		return
	}
	kind := binary.LittleEndian.Uint32(raw)

	p.mu.RLock()
	defer p.mu.RUnlock()
	h, ok := p.handlers[kind]
	if !ok {
		p.c.unknownKinds.Add(1)
		p.logProblem(&p.logUnknown, ErrUnknownKind, "dropping event", "kind", kind, "size", len(raw))
		return
	}
	if h.annotate != nil {
		p.handleAnnotation(h.annotate, raw, kind)
		return
	}
	stub, err := safeDecode(h.decode, raw, p.clock)
	if err == nil && !stub.SpanContext.IsValid() {
		err = ErrInvalidSpanContext
	}
	if err != nil {
		p.c.decodeErrors.Add(1)
		p.logProblem(&p.logDecode, err, "dropping event", "kind", kind, "scope", h.scope.Name, "size", len(raw))
		return
	}
	p.c.spans.Add(1)
	p.applyChanges(&stub)
	if isTruncated(&stub) {
		p.c.truncated.Add(1)
		p.logProblem(&p.logTruncated, nil, "span truncated: it was too large to copy whole; such spans carry "+string(TruncatedKey)+"=true and are counted",
			"name", stub.Name, "scope", stub.InstrumentationScope.Name)
	}
	stub.SpanContext = stub.SpanContext.WithTraceFlags(stub.SpanContext.TraceFlags() | trace.FlagsSampled)
	if stub.InstrumentationScope.Name == "" {
		stub.InstrumentationScope = h.scope // a manual span keeps the app's scope
	}
	stub.Resource = p.res
	if p.closed || !p.admit() {
		p.c.dropped.Add(1)
		p.logProblem(&p.logDrop, nil, "export queue full or closed: dropping spans", "queueSize", p.queueSize)
		return
	}
	p.batch.add(stub.Snapshot())
}

// safeDecode runs d, turning a panic into an error: a decoder bug must not
// stop the agent.
func safeDecode(d Decoder, raw []byte, clk *Clock) (s tracetest.SpanStub, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errDecoderPanic, r)
		}
	}()
	return d(raw, clk)
}

// admit takes one queue slot, or reports that none is free.
func (p *Pipeline) admit() bool {
	for {
		n := p.queued.Load()
		if n >= p.queueSize {
			return false
		}
		if p.queued.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// exported accounts for one finished export of n spans and frees their
// queue slots.
func (p *Pipeline) exported(n int, err error) {
	p.exportMu.Lock()
	defer p.exportMu.Unlock()
	p.queued.Add(-int64(n))
	if p.final != nil {
		return
	}
	if err != nil {
		p.c.exportErrors.Add(uint64(n))
		p.lastExportErr = err
		if ok, last := p.logExport.allow(err.Error()); ok {
			kv := []any{"count", n}
			if last {
				kv = append(kv, "note", "further export errors are counted and summarized every "+p.losses.interval.String())
			} else {
				kv = append(kv, "note", "this error is logged once; losses are summarized every "+p.losses.interval.String()+" while they go on")
			}
			p.log.Error(err, "exporting spans", kv...)
		}
		return
	}
	p.c.exported.Add(uint64(n))
}

// logProblem logs through l's budget: errors at error level, a nil err at
// info level.
func (p *Pipeline) logProblem(l *limiter, err error, msg string, kv ...any) {
	ok, last := l.allow()
	if !ok {
		return
	}
	if last {
		kv = append(kv, "note", "further occurrences are counted and summarized every "+p.losses.interval.String())
	}
	if err != nil {
		p.log.Error(err, msg, kv...)
	} else {
		p.log.Info(msg, kv...)
	}
}

// AddKernelDrops adds n events that BPF could not put in the ring buffer.
// Call it before Shutdown; later calls are not reported.
func (p *Pipeline) AddKernelDrops(n uint64) {
	p.c.kernelDrops.Add(n)
}

// Stats returns the counters so far; after Shutdown, the final ones.
func (p *Pipeline) Stats() Stats {
	p.exportMu.Lock()
	defer p.exportMu.Unlock()
	if p.final != nil {
		return *p.final
	}
	return p.c.load()
}

// Shutdown stops accepting spans, exports what is queued, shuts the
// exporter down and logs the final Stats once. When ctx ends first, the
// export in progress is cancelled, the spans still queued or in export are
// counted as dropped and the error is an *UnsentError (matching
// ErrShutdownTimeout and ctx's error). Later calls return the first call's
// error.
func (p *Pipeline) Shutdown(ctx context.Context) error {
	p.shutdownOnce.Do(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		close(p.stopLoss)
		<-p.lossDone

		p.batch.stop(ctx)
		select {
		case <-p.batch.finished:
			if err := p.batch.shutErr; err != nil {
				p.shutdownErr = fmt.Errorf("shutting down the span exporter: %w", err)
			}
		case <-ctx.Done():
			p.batch.abandon()
		}

		p.exportMu.Lock()
		s := p.c.load()
		unsent := uint64(max(p.queued.Load(), 0))
		s.Dropped += unsent
		p.final = &s
		p.exportMu.Unlock()
		if unsent > 0 {
			p.shutdownErr = &UnsentError{Spans: unsent, Err: context.Cause(ctx)}
		}

		if s.lossy() {
			p.log.Info("span pipeline stopped with losses", append(s.keysAndValues(), "notSent", unsent)...)
		} else {
			p.log.V(1).Info("span pipeline stopped", s.keysAndValues()...)
		}
	})
	return p.shutdownErr
}

// lossReporter remembers what the last loss summary saw.
type lossReporter struct {
	interval time.Duration
	prev     Stats
	reported bool // the last interval had losses
}

// reportLosses logs, every interval until Shutdown, how many spans and
// events were lost in it, when any were; and once that losses stopped.
func (p *Pipeline) reportLosses() {
	defer close(p.lossDone)
	t := time.NewTicker(p.losses.interval)
	defer t.Stop()
	for {
		select {
		case <-p.stopLoss:
			return
		case <-t.C:
			p.summarizeLosses()
		}
	}
}

func (p *Pipeline) summarizeLosses() {
	p.exportMu.Lock()
	s, lastErr := p.c.load(), p.lastExportErr
	p.exportMu.Unlock()
	l := &p.losses
	d := s.since(l.prev)
	l.prev = s
	every := l.interval.String()
	switch {
	case d.lossy():
		kv := append([]any{"interval", every}, d.lossKeysAndValues()...)
		kv = append(kv, "exported", d.Exported, "totalLost", s.lost())
		if d.ExportErrors > 0 && lastErr != nil {
			p.log.Error(lastErr, "losing spans: summary of the last "+every, kv...)
		} else {
			p.log.Info("losing spans: summary of the last "+every, kv...)
		}
		l.reported = true
	case l.reported:
		p.log.Info("no span lost in the last "+every, "exported", d.Exported, "totalLost", s.lost())
		l.reported = false
	}
}
