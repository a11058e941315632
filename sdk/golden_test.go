package sdk

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/sdk/internal/wire"
)

// The golden records in testdata/wire are the encodings of the cases below,
// made through the public API. probes/sondesdk in the main module decodes
// them and checks every field against the same cases: together the two
// tests are the round trip, with no copy of the encoder or the decoder.
// After a deliberate format change: go test -run TestGolden -update, then
// bump wire.Version and update probes/sondesdk.
var update = flag.Bool("update", false, "rewrite testdata/wire")

var (
	t0 = time.Unix(1700000000, 123456789)
	t1 = t0.Add(1500 * time.Microsecond)
	t2 = t0.Add(42 * time.Millisecond)
)

// allTypes has an attribute of every type the format carries.
func allTypes() []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.Bool("b", true),
		attribute.Int64("i", -42),
		attribute.Float64("f", 3.25),
		attribute.String("s", "héllo"),
		attribute.BoolSlice("bs", []bool{true, false, true}),
		attribute.Int64Slice("is", []int64{1, -2, 1 << 40}),
		attribute.Float64Slice("fs", []float64{0.5, -1e300}),
		attribute.StringSlice("ss", []string{"a", "", "ü"}),
	}
}

func linkA() trace.Link {
	ts, err := trace.ParseTraceState("vendor=x1,other=y2")
	if err != nil {
		panic(err)
	}
	return trace.Link{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
			SpanID:     trace.SpanID{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8},
			TraceFlags: trace.FlagsSampled,
			TraceState: ts,
		}),
		Attributes: []attribute.KeyValue{attribute.String("link.kind", "batch")},
	}
}

func linkB() trace.Link {
	return trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00},
		SpanID:  trace.SpanID{0x01, 0, 0, 0, 0, 0, 0, 0x02},
		Remote:  true,
	})}
}

// goldens runs every case attached and returns its record by file name.
func goldens(t *testing.T) map[string][]byte {
	out := map[string][]byte{}
	ann := func(name string, f func(trace.Span)) {
		r := attach(t)
		f(SpanFromContext(context.Background()))
		if len(r.annotations) != 1 {
			t.Fatalf("%s: %d annotate calls, want 1", name, len(r.annotations))
		}
		out[name] = r.annotations[0].buf
	}
	ann("annotation_set_attributes", func(s trace.Span) { s.SetAttributes(allTypes()...) })
	ann("annotation_add_event", func(s trace.Span) {
		s.AddEvent("cache.miss", trace.WithTimestamp(t1),
			trace.WithAttributes(attribute.String("key", "user:42"), attribute.Int("size", 3)))
	})
	ann("annotation_record_error", func(s trace.Span) {
		s.RecordError(errors.New("connection refused"), trace.WithTimestamp(t1),
			trace.WithAttributes(attribute.Bool("retry", true)))
	})
	ann("annotation_set_status", func(s trace.Span) { s.SetStatus(codes.Error, "payment declined") })
	ann("annotation_set_name", func(s trace.Span) { s.SetName("GET /todos/{id}") })

	spn := func(name string, f func() trace.Span) {
		r := attach(t)
		s := f()
		if len(r.started) != 1 || len(r.ended) != 1 || r.ended[0].s != s {
			t.Fatalf("%s: %d spanStarted, %d spanEnded calls, want 1 each for the span", name, len(r.started), len(r.ended))
		}
		out[name] = r.ended[0].buf
	}
	spn("span_full", func() trace.Span {
		tr := TracerProvider().Tracer("github.com/example/todo",
			trace.WithInstrumentationVersion("1.2.3"),
			trace.WithSchemaURL("https://opentelemetry.io/schemas/1.24.0"))
		_, s := tr.Start(context.Background(), "AllTodos",
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(t0),
			trace.WithAttributes(allTypes()...),
			trace.WithLinks(linkA()))
		s.SetAttributes(attribute.Int64("i", 7)) // replaces i
		s.AddEvent("cache.miss", trace.WithTimestamp(t1), trace.WithAttributes(attribute.String("key", "user:42")))
		s.RecordError(errors.New("connection refused"), trace.WithTimestamp(t1))
		s.SetStatus(codes.Error, "db down")
		addLink(s, linkB())
		s.End(trace.WithTimestamp(t2))
		return s
	})
	spn("span_minimal", func() trace.Span {
		_, s := TracerProvider().Tracer("min").Start(context.Background(), "tick", trace.WithTimestamp(t0))
		s.End(trace.WithTimestamp(t1))
		return s
	})
	spn("span_truncated", func() trace.Span {
		_, s := TracerProvider().Tracer("big").Start(context.Background(), "bulk",
			trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t0))
		v := strings.Repeat("v", 250)
		for i := range 300 {
			s.SetAttributes(attribute.String(fmt.Sprintf("attr.%03d", i), v))
		}
		for i := range 50 {
			s.AddEvent(fmt.Sprintf("event.%02d", i), trace.WithTimestamp(t1),
				trace.WithAttributes(attribute.String("payload", strings.Repeat("e", 100))))
		}
		addLink(s, linkA())
		addLink(s, linkB())
		s.End(trace.WithTimestamp(t2))
		return s
	})
	return out
}

func TestGolden(t *testing.T) {
	dir := filepath.Join("testdata", "wire")
	for name, got := range goldens(t) {
		if len(got) > wire.MaxSize || got[0] != wire.Version {
			t.Errorf("%s: %d bytes, version %d", name, len(got), got[0])
		}
		path := filepath.Join(dir, name+".bin")
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestGolden -update after a deliberate change)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: encoding changed:\ngot  %x\nwant %x", name, got, want)
		}
	}
}

// addLink calls AddLink, which trace.Span has from otel v1.25 on (the sdk
// builds with v1.24, where its spans have the method all the same).
func addLink(s trace.Span, l trace.Link) {
	s.(interface{ AddLink(trace.Link) }).AddLink(l)
}
