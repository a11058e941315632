package sdk

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sonde-go/auto/sdk/internal/wire"
)

// SpanFromContext returns the span to annotate for ctx:
//
//   - the span in ctx when it is recording: a manual span of any SDK, this
//     one's included;
//   - else, when a Sonde agent is attached, a handle on the innermost eBPF
//     span for ctx or, when ctx holds none, for the calling goroutine (the
//     server span of an HTTP request, a database span inside a query's
//     context, ...). SetAttributes, AddEvent, RecordError, SetStatus and
//     SetName on it change that span as it is exported, each by one call
//     the agent traces; IsRecording is true; End and AddLink do nothing;
//     SpanContext is invalid, since the app cannot know the IDs of an eBPF
//     span (they live in the kernel under lockdown);
//   - else trace.SpanFromContext(ctx): with no agent attached, a no-op span
//     when ctx holds no recording span.
//
// With no agent attached, SpanFromContext and the methods of the no-op span
// cost a few nanoseconds and allocate nothing.
func SpanFromContext(ctx context.Context) trace.Span {
	s := trace.SpanFromContext(ctx)
	if !attached() || s.IsRecording() {
		return s
	}
	return &ebpfSpan{ctx: ctx}
}

// ebpfSpan is a handle on the innermost eBPF span of ctx: each change is
// encoded and handed to the agent through annotate.
type ebpfSpan struct {
	noop.Span // no-op defaults for methods later otel versions add

	ctx context.Context
}

var _ trace.Span = (*ebpfSpan)(nil)

// annotationBuf is the size of the stack buffer annotations are encoded in;
// larger ones go to the heap.
const annotationBuf = 512

func (h *ebpfSpan) IsRecording() bool { return true }

func (h *ebpfSpan) SpanContext() trace.SpanContext { return trace.SpanContext{} }

func (h *ebpfSpan) TracerProvider() trace.TracerProvider { return TracerProvider() }

// End does nothing: the eBPF span ends with the call it traces.
func (h *ebpfSpan) End(...trace.SpanEndOption) {}

// AddLink does nothing: links cannot be added to eBPF spans.
func (h *ebpfSpan) AddLink(trace.Link) {}

func (h *ebpfSpan) SetAttributes(kv ...attribute.KeyValue) {
	if len(kv) == 0 || !attached() {
		return
	}
	attrs := keepAttrs(kv)
	var arr [annotationBuf]byte
	callAnnotate(h.ctx, wire.AppendSetAttributes(arr[:0], attrs, len(kv)-len(attrs)))
}

func (h *ebpfSpan) AddEvent(name string, opts ...trace.EventOption) {
	if !attached() {
		return
	}
	cfg := trace.NewEventConfig(opts...)
	h.addEvent(newEvent(name, cfg.Timestamp(), cfg.Attributes()))
}

func (h *ebpfSpan) RecordError(err error, opts ...trace.EventOption) {
	if err == nil || !attached() {
		return
	}
	h.addEvent(errorEvent(err, opts))
}

func (h *ebpfSpan) addEvent(e wire.Event) {
	var arr [annotationBuf]byte
	callAnnotate(h.ctx, wire.AppendAddEvent(arr[:0], &e))
}

// SetStatus sets the status of the eBPF span by the OpenTelemetry rules,
// applied by the agent: Ok is final, Error carries its description, Unset
// changes nothing (and is not sent).
func (h *ebpfSpan) SetStatus(code codes.Code, description string) {
	if code == codes.Unset || code > codes.Ok || !attached() {
		return
	}
	if code != codes.Error {
		description = ""
	}
	var arr [annotationBuf]byte
	callAnnotate(h.ctx, wire.AppendSetStatus(arr[:0], uint8(code), description))
}

func (h *ebpfSpan) SetName(name string) {
	if !attached() {
		return
	}
	var arr [annotationBuf]byte
	callAnnotate(h.ctx, wire.AppendSetName(arr[:0], name))
}
