package pipeline_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

const (
	kindNote      = 7
	kindTruncated = 8
)

// note is an annotation record: kind, then the span ID byte it changes,
// then the value of attribute "note" (0: a garbage record).
func note(id, v byte) []byte { return []byte{kindNote, 0, 0, 0, id, v} }

func annotator(raw []byte) (pipeline.Annotation, error) {
	if len(raw) < 6 || raw[5] == 0 {
		return pipeline.Annotation{}, errors.New("bad note")
	}
	v := int(raw[5])
	return pipeline.Annotation{Span: trace.SpanID{7: raw[4]}, Change: func(s *tracetest.SpanStub) {
		s.Attributes = append(s.Attributes, attribute.Int("note", v))
	}}, nil
}

// TestAnnotations: changes recorded before their span arrive on it, in
// order; garbage is counted; a span's own scope is kept.
func TestAnnotations(t *testing.T) {
	exp := &keepExporter{}
	p := newPipeline(t, exp, 0, logr.Discard())
	p.RegisterAnnotator(kindNote, annotator)
	p.Handle(note(1, 10))
	p.Handle(note(1, 11))
	p.Handle(note(2, 20))
	p.Handle(note(1, 0)) // garbage
	p.Handle(event(t, 1))
	shutdown(t, p)
	spans := exp.spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	var notes []int64
	for _, kv := range spans[0].Attributes() {
		if kv.Key == "note" {
			notes = append(notes, kv.Value.AsInt64())
		}
	}
	if len(notes) != 2 || notes[0] != 10 || notes[1] != 11 {
		t.Errorf("notes %v, want [10 11]", notes)
	}
	s := p.Stats()
	if s.Annotations != 3 || s.DecodeErrors != 1 || s.Events != 5 || s.Spans != 1 {
		t.Errorf("Stats %+v", s)
	}
}

// TestAnnotationsBounded: changes for spans that never arrive are dropped,
// oldest first, and counted.
func TestAnnotationsBounded(t *testing.T) {
	p := newPipeline(t, tracetest.NewInMemoryExporter(), 0, logr.Discard())
	p.RegisterAnnotator(kindNote, func(raw []byte) (pipeline.Annotation, error) {
		id := trace.SpanID{0: raw[4], 1: raw[5], 7: 1}
		return pipeline.Annotation{Span: id, Change: func(*tracetest.SpanStub) {}}, nil
	})
	const n = 5000
	for i := range n {
		p.Handle([]byte{kindNote, 0, 0, 0, byte(i), byte(i >> 8)})
	}
	s := p.Stats()
	if s.Annotations != n || s.AnnotationsLost == 0 || s.AnnotationsLost > n {
		t.Errorf("Stats %+v: want some of %d annotations lost", s, n)
	}
}

// TestTruncatedCounted: spans marked truncated are counted.
func TestTruncatedCounted(t *testing.T) {
	exp := &keepExporter{}
	p := newPipeline(t, exp, 0, logr.Discard())
	own := instrumentation.Scope{Name: "app", Version: "v1"}
	p.Register(kindTruncated, testScope, func(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
		s, err := decodeHTTP(raw, clk)
		s.Attributes = append(s.Attributes, pipeline.TruncatedKey.Bool(true))
		s.InstrumentationScope = own
		return s, err
	})
	ev := event(t, 1)
	ev[0] = kindTruncated
	p.Handle(ev)
	shutdown(t, p)
	if s := p.Stats(); s.Truncated != 1 {
		t.Errorf("Truncated = %d, want 1", s.Truncated)
	}
	if got := exp.spans()[0].InstrumentationScope(); got != own {
		t.Errorf("scope %v, want the decoder's %v", got, own)
	}
}

// keepExporter keeps what it exports, Shutdown included.
type keepExporter struct {
	mu   sync.Mutex
	kept []sdktrace.ReadOnlySpan
}

func (e *keepExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.kept = append(e.kept, spans...)
	return nil
}

func (e *keepExporter) Shutdown(context.Context) error { return nil }

func (e *keepExporter) spans() []sdktrace.ReadOnlySpan {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]sdktrace.ReadOnlySpan(nil), e.kept...)
}

// TestTraceAnnotation: a trace-wide change applies to every span of its
// trace decoded after it, and to no other.
func TestTraceAnnotation(t *testing.T) {
	exp := &keepExporter{}
	p := newPipeline(t, exp, 0, logr.Discard())
	p.RegisterAnnotator(kindNote, func(raw []byte) (pipeline.Annotation, error) {
		return pipeline.Annotation{Trace: trace.TraceID{15: raw[4]}, Change: func(s *tracetest.SpanStub) {
			s.Attributes = append(s.Attributes, attribute.Bool("traced", true))
		}}, nil
	})
	p.Handle([]byte{kindNote, 0, 0, 0, 1})
	p.Handle(event(t, 1)) // trace 1
	p.Handle(event(t, 2)) // trace 2
	shutdown(t, p)
	for _, s := range exp.spans() {
		_, marked := attrOf(s.Attributes(), "traced")
		if want := s.SpanContext().TraceID()[15] == 1; marked != want {
			t.Errorf("trace %s: marked %v, want %v", s.SpanContext().TraceID(), marked, want)
		}
	}
	if s := p.Stats(); s.Annotations != 1 || s.Spans != 2 {
		t.Errorf("Stats %+v", s)
	}
}

func attrOf(kvs []attribute.KeyValue, k string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}
