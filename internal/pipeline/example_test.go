package pipeline_test

import (
	"context"
	"log"
	"structs"

	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// A probe registers one decoder per event kind it emits. The event type is
// the bpf2go-generated struct of the probe's C event.
func Example() {
	type sqlEvent struct {
		_         structs.HostLayout
		Kind      uint32
		_         [4]byte
		Start     uint64
		End       uint64
		TraceID   [16]uint8
		SpanID    [8]uint8
		ParentID  [8]uint8
		Statement [256]uint8
	}
	const kindSQL = 3

	p, err := pipeline.New(pipeline.Config{Exporter: tracetest.NewNoopExporter()})
	if err != nil {
		log.Fatal(err)
	}
	p.Register(kindSQL, instrumentation.Scope{Name: "github.com/sonde-go/auto/probes/databasesql"},
		func(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
			var ev sqlEvent
			if err := pipeline.Decode(raw, &ev); err != nil {
				return tracetest.SpanStub{}, err
			}
			return tracetest.SpanStub{
				Name:        pipeline.CString(ev.Statement[:]),
				SpanContext: pipeline.SpanContext(ev.TraceID, ev.SpanID),
				Parent:      pipeline.SpanContext(ev.TraceID, ev.ParentID),
				SpanKind:    trace.SpanKindClient,
				StartTime:   clk.Time(ev.Start),
				EndTime:     clk.Time(ev.End),
			}, nil
		})
	// The loader then runs p.Run(ctx, reader) until ctx ends, and finally:
	if err := p.Shutdown(context.Background()); err != nil {
		log.Print(err)
	}
}
