package pipeline

import (
	"context"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// gatedExporter sits between the batch span processor and the real
// exporter. It counts what the exporter accepted or failed, and gives back
// the queue slots that Pipeline.submit took for those spans: a span holds a
// slot from the moment it is handed to the processor until its export
// returns, so the processor never holds more than QueueSize spans and never
// drops one itself. Every drop happens, and is counted, in submit.
type gatedExporter struct {
	next sdktrace.SpanExporter
	p    *Pipeline
}

// ExportSpans exports spans through the wrapped exporter.
func (e *gatedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	e.p.exported(len(spans), err)
	return err
}

// Shutdown shuts the wrapped exporter down.
func (e *gatedExporter) Shutdown(ctx context.Context) error {
	return e.next.Shutdown(ctx)
}
