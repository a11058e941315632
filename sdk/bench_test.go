package sdk

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// The attached benchmarks measure the sdk's side only: with no uprobe on
// the hooks (they are empty functions), as when an agent has switched the
// state on. A uprobe adds the kernel's cost of one probe hit per hook call.

func attachBench(b *testing.B) {
	state.attached = 1
	b.Cleanup(func() { state.attached = 0 })
}

var benchAttrs = []attribute.KeyValue{attribute.String("user.id", "42"), attribute.Int("cart.items", 3)}

func BenchmarkSpanFromContextSetAttributes(b *testing.B) {
	type key struct{}
	// A request context: a few values deep, as under net/http.
	ctx := context.WithValue(context.WithValue(context.Background(), key{}, 1), key{}, 2)
	run := func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			SpanFromContext(ctx).SetAttributes(benchAttrs...)
		}
	}
	b.Run("unattached", run)
	b.Run("unattached/inline-args", func(b *testing.B) {
		// Variadic arguments built at the call: the slice escapes through the
		// trace.Span interface, as with any otel API call.
		b.ReportAllocs()
		for range b.N {
			SpanFromContext(ctx).SetAttributes(attribute.String("user.id", "42"), attribute.Int("cart.items", 3))
		}
	})
	b.Run("attached", func(b *testing.B) { attachBench(b); run(b) })
}

func BenchmarkAnnotate(b *testing.B) {
	attachBench(b)
	h := SpanFromContext(context.Background())
	b.Run("SetStatus", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			h.SetStatus(codes.Error, "payment declined")
		}
	})
	b.Run("AddEvent", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			h.AddEvent("cache.miss")
		}
	})
}

func BenchmarkStartEnd(b *testing.B) {
	tr := TracerProvider().Tracer("bench")
	ctx := context.Background()
	run := func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			_, s := tr.Start(ctx, "op")
			s.End()
		}
	}
	b.Run("unattached", run)
	b.Run("attached", func(b *testing.B) { attachBench(b); run(b) })
	b.Run("attached/attributes", func(b *testing.B) {
		attachBench(b)
		b.ReportAllocs()
		for range b.N {
			_, s := tr.Start(ctx, "op", trace.WithSpanKind(trace.SpanKindServer))
			s.SetAttributes(benchAttrs...)
			s.SetStatus(codes.Error, "boom")
			s.End()
		}
	})
}
