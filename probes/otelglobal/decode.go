package otelglobal

import (
	"errors"
	"unsafe"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/pipeline"
)

// eventSize is the size of the event before its copied bytes.
var eventSize = int(unsafe.Sizeof(globalManualSpanEvent{}))

// errShortSpan reports an event whose bytes are missing.
var errShortSpan = errors.New("manual span event shorter than its copied bytes")

// decodeManualSpan turns one manual span event into the span the app
// recorded, with the trace context the BPF side gave it.
func decodeManualSpan(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	var ev globalManualSpanEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindInternal)
	end := eventSize + int(ev.HeadLen) + int(ev.TailLen)
	if end > len(raw) || ev.HeadLen == 0 {
		return s, errShortSpan
	}
	head := raw[eventSize : eventSize+int(ev.HeadLen)]
	tail := raw[eventSize+int(ev.HeadLen) : end]
	if _, err := decodeSpanJSON(head, tail, int(ev.Total), &s); err != nil {
		return s, err
	}
	return s, nil
}
