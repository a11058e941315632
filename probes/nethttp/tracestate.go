package nethttp

import (
	"errors"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// tracestateMax is TRACESTATE_MAX of header.h: the W3C limit a receiver
// must propagate.
const tracestateMax = 512

var errTraceState = errors.New("malformed tracestate")

// Annotators implements probe.Annotators: the incoming tracestate of a
// server span applies to every span of its trace (it is emitted when the
// server span starts, before its children end).
func (Server) Annotators(*probe.Target) map[string]pipeline.Annotator {
	return map[string]pipeline.Annotator{"trace_state": decodeTraceState}
}

// decodeTraceState reads a trace_state event. A tracestate longer than
// the W3C limit, or one that does not parse (more than 32 members, bad
// keys or values), is dropped, as the W3C specification says.
func decodeTraceState(raw []byte) (pipeline.Annotation, error) {
	var ev serverTraceStateEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return pipeline.Annotation{}, err
	}
	if ev.Len == 0 || ev.Len > tracestateMax || int(ev.Len) > len(ev.State) {
		return pipeline.Annotation{}, errTraceState
	}
	ts, err := trace.ParseTraceState(string(ev.State[:ev.Len]))
	if err != nil {
		return pipeline.Annotation{}, errors.Join(errTraceState, err)
	}
	return pipeline.Annotation{
		Trace: trace.TraceID(ev.Hdr.Sc.TraceId),
		Change: func(s *tracetest.SpanStub) {
			s.SpanContext = s.SpanContext.WithTraceState(ts)
			if s.Parent.IsValid() && s.Parent.TraceID() == s.SpanContext.TraceID() {
				s.Parent = s.Parent.WithTraceState(ts)
			}
		},
	}, nil
}
