package bpf

import (
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// Header is the header every event starts with (struct event_header).
type Header = SondeEventHeader

// DecodeHeader reads the event header at the start of raw.
func DecodeHeader(raw []byte) (Header, error) {
	var h Header
	err := pipeline.Decode(raw, &h)
	return h, err
}

// Stub fills the fields of a span that come from the header: IDs, parent,
// start and end time.
func (h *Header) Stub(clk *pipeline.Clock, kind trace.SpanKind) tracetest.SpanStub {
	parent := pipeline.SpanContext(h.Parent.TraceId, h.Parent.SpanId)
	if h.ParentRemote != 0 && parent.IsValid() {
		parent = parent.WithRemote(true)
	}
	return tracetest.SpanStub{
		SpanContext: pipeline.SpanContext(h.Sc.TraceId, h.Sc.SpanId),
		Parent:      parent,
		SpanKind:    kind,
		StartTime:   clk.Time(h.StartNs),
		EndTime:     clk.Time(h.EndNs),
	}
}
