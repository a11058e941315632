package pipeline

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// maxExportErrors is how many distinct export errors are logged.
const maxExportErrors = 16

// gatedExporter sits between the batch span processor and the real
// exporter. It counts what the exporter accepted or failed, and gives back
// the queue slots that Pipeline.submit took for those spans: a span holds a
// slot from the moment it is handed to the processor until its export
// returns, so the processor never holds more than QueueSize spans and never
// drops one itself. Every drop happens, and is counted, in submit.
//
// Export errors are logged (each distinct one once) and counted here, and
// not returned to the processor: it would hand them to the process-wide
// otel.Handle, which a library must leave to the program.
type gatedExporter struct {
	next sdktrace.SpanExporter
	p    *Pipeline
}

// ExportSpans exports spans through the wrapped exporter.
func (e *gatedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.next.ExportSpans(ctx, spans)
	e.p.exported(len(spans), err)
	return nil
}

// Shutdown shuts the wrapped exporter down.
func (e *gatedExporter) Shutdown(ctx context.Context) error {
	return e.next.Shutdown(ctx)
}

// distinct lets the first occurrence of each of up to max distinct
// messages be logged.
type distinct struct {
	mu   sync.Mutex
	seen map[string]bool
	max  int
}

// allow reports whether to log msg, and whether it is the last distinct
// message logged.
func (d *distinct) allow(msg string) (ok, last bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[msg] || len(d.seen) >= d.max {
		return false, false
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	d.seen[msg] = true
	return true, len(d.seen) == d.max
}
