package main

import (
	"context"
	"sync"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// collector is a span exporter that keeps every span in memory.
type collector struct {
	mu      sync.Mutex
	spans   []sdktrace.ReadOnlySpan
	arrived chan struct{} // gets a value (without blocking) after each export
}

func newCollector() *collector {
	return &collector{arrived: make(chan struct{}, 1)}
}

// ExportSpans implements sdktrace.SpanExporter.
func (c *collector) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	c.mu.Lock()
	c.spans = append(c.spans, spans...)
	c.mu.Unlock()
	select {
	case c.arrived <- struct{}{}:
	default:
	}
	return nil
}

// Shutdown implements sdktrace.SpanExporter; the spans stay readable.
func (c *collector) Shutdown(context.Context) error { return nil }

// Spans returns a copy of the spans received so far.
func (c *collector) Spans() []sdktrace.ReadOnlySpan {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), c.spans...)
}

// waitFor waits until at least n spans arrived or ctx is done, and reports
// whether they did.
func (c *collector) waitFor(ctx context.Context, n int) bool {
	for {
		if len(c.Spans()) >= n {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-c.arrived:
		}
	}
}
