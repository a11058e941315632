package sdk

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sonde-go/auto/sdk/internal/wire"
)

// TracerProvider returns the sdk's TracerProvider. Its spans are exported by
// the Sonde agent attached to the process, joined with the eBPF spans: an
// eBPF span started in a span's context is its child, and a span started
// inside an eBPF span (a request's context, say) is the eBPF span's child.
//
// Span IDs are chosen in the app, so span.SpanContext() is valid even where
// the kernel forbids the agent to write into the process (lockdown). The
// trace ID is the one of the app-side parent in ctx (a span of this sdk, a
// context extracted from a request, a span of another SDK), else a fresh
// one. The span ID the app sees is always the exported one; the trace ID
// too, but for one case, told in the package documentation: no app-side
// parent, an eBPF parent, and a kernel under lockdown.
//
// With no agent attached, Start returns the context unchanged and a
// non-recording span, at almost no cost.
func TracerProvider() trace.TracerProvider { return provider }

var provider = &tracerProvider{}

type tracerProvider struct {
	noop.TracerProvider // no-op defaults for methods later otel versions add

	tracers sync.Map // scope -> *tracer
}

type scope struct{ name, version, schemaURL string }

// Tracer returns the tracer of an instrumentation scope (name, and
// trace.WithInstrumentationVersion and trace.WithSchemaURL).
func (p *tracerProvider) Tracer(name string, opts ...trace.TracerOption) trace.Tracer {
	cfg := trace.NewTracerConfig(opts...)
	key := scope{name, cfg.InstrumentationVersion(), cfg.SchemaURL()}
	if t, ok := p.tracers.Load(key); ok {
		return t.(*tracer)
	}
	t, _ := p.tracers.LoadOrStore(key, &tracer{scope: key})
	return t.(*tracer)
}

type tracer struct {
	noop.Tracer // no-op defaults for methods later otel versions add

	scope scope
}

// noopSpan is what Start returns when no agent is attached: an interface
// value made once, so returning it does not allocate.
var noopSpan trace.Span = noop.Span{}

// Start starts a span (trace.WithNewRoot, WithSpanKind, WithAttributes,
// WithLinks, WithTimestamp).
func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	if !attached() {
		return ctx, noopSpan
	}
	if ctx == nil {
		ctx = context.Background()
	}
	cfg := trace.NewSpanStartConfig(opts...)

	var ids spanIDs
	var psc trace.SpanContext
	if cfg.NewRoot() {
		ids.Flags |= flagNewRoot
	} else {
		parent := trace.SpanFromContext(ctx)
		if psc = parent.SpanContext(); psc.IsValid() {
			if _, ours := parent.(*span); !ours {
				ids.Flags |= flagForeignParent
			}
			ids.ParentTraceID = psc.TraceID()
			ids.ParentSpanID = psc.SpanID()
		}
	}
	if psc.IsValid() {
		ids.TraceID = psc.TraceID()
	} else {
		ids.TraceID = newTraceID()
	}
	ids.SpanID = newSpanID()
	// Parent-based: a span is sampled unless its app-side parent is not.
	sampled := !psc.IsValid() || psc.IsSampled()
	if sampled {
		ids.Flags |= flagSampled
	}

	start := cfg.Timestamp()
	if start.IsZero() {
		start = time.Now()
	}
	s := &span{sampled: sampled}
	s.data = wire.Span{
		Name:         name,
		Kind:         trace.ValidateSpanKind(cfg.SpanKind()),
		Start:        start.UnixNano(),
		Scope:        t.scope.name,
		ScopeVersion: t.scope.version,
		SchemaURL:    t.scope.schemaURL,
	}
	if sampled {
		s.setAttributes(cfg.Attributes())
		for _, l := range cfg.Links() {
			s.addLink(l)
		}
	}

	callSpanStarted(ctx, s, &ids)

	// The agent may have written TraceID: the identity is read back from ids.
	var flags trace.TraceFlags
	if sampled {
		flags = trace.FlagsSampled
	}
	s.sc = trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    ids.TraceID,
		SpanID:     ids.SpanID,
		TraceFlags: flags,
		TraceState: psc.TraceState(),
	})
	return trace.ContextWithSpan(ctx, s), s
}

// IDs come from math/rand/v2's global generator: ChaCha8 per thread, seeded
// from the operating system's entropy, lock-free.

func newTraceID() (id trace.TraceID) {
	for !id.IsValid() {
		binary.LittleEndian.PutUint64(id[:8], rand.Uint64())
		binary.LittleEndian.PutUint64(id[8:], rand.Uint64())
	}
	return id
}

func newSpanID() (id trace.SpanID) {
	for !id.IsValid() {
		binary.LittleEndian.PutUint64(id[:], rand.Uint64())
	}
	return id
}
