package pipeline

import (
	"fmt"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Annotator reads a record that changes spans still in progress instead of
// being a span itself: an attribute the app set on an eBPF span (Span
// set: that span), or the tracestate a trace came in with (Trace set:
// every span of that trace decoded after it). The pipeline applies the
// change when such a span is decoded. raw is reused after the call: copy
// what the change keeps.
type Annotator func(raw []byte) (Annotation, error)

// Annotation is what an Annotator read.
type Annotation struct {
	Span   trace.SpanID  // the span changed, or
	Trace  trace.TraceID // every span of this trace
	Change func(*tracetest.SpanStub)
}

// maxTraceChanges bounds the traces with a trace-wide change kept.
const maxTraceChanges = 4096

// Bounds of the changes waiting for their span.
const (
	maxPendingSpans   = 4096 // spans with changes waiting
	maxPendingChanges = 256  // changes kept for one span
)

// pending holds changes until their span is decoded. The oldest span's
// changes are dropped (and counted) when too many spans wait: a span that
// never ends, or was lost, must not hold memory forever.
type pending struct {
	mu    sync.Mutex
	byID  map[trace.SpanID][]func(*tracetest.SpanStub)
	order []trace.SpanID // insertion order of byID's keys, oldest first
}

// add keeps change for span id; it returns how many changes it dropped.
func (p *pending) add(id trace.SpanID, change func(*tracetest.SpanStub)) (dropped int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil {
		p.byID = map[trace.SpanID][]func(*tracetest.SpanStub){}
	}
	cs, ok := p.byID[id]
	if !ok {
		for len(p.byID) >= maxPendingSpans && len(p.order) > 0 {
			old := p.order[0]
			p.order = p.order[1:]
			dropped += len(p.byID[old])
			delete(p.byID, old)
		}
		p.order = append(p.order, id)
	}
	if len(cs) >= maxPendingChanges {
		return dropped + 1
	}
	p.byID[id] = append(cs, change)
	return dropped
}

// take removes and returns the changes of span id.
func (p *pending) take(id trace.SpanID) []func(*tracetest.SpanStub) {
	p.mu.Lock()
	defer p.mu.Unlock()
	cs, ok := p.byID[id]
	if !ok {
		return nil
	}
	delete(p.byID, id)
	for i, o := range p.order {
		if o == id {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
	return cs
}

// RegisterAnnotator makes a the reader of records of this kind. It panics
// if kind already has a decoder or an annotator, or a is nil.
func (p *Pipeline) RegisterAnnotator(kind uint32, a Annotator) {
	if a == nil {
		panic(fmt.Sprintf("pipeline: nil annotator for kind %d", kind))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.handlers[kind]; ok {
		panic(fmt.Sprintf("pipeline: kind %d registered twice", kind))
	}
	p.handlers[kind] = handler{annotate: a}
}

// traceChanges keeps the trace-wide changes of the newest traces.
type traceChanges struct {
	mu    sync.Mutex
	byID  map[trace.TraceID]func(*tracetest.SpanStub)
	order []trace.TraceID
}

func (c *traceChanges) add(id trace.TraceID, change func(*tracetest.SpanStub)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[trace.TraceID]func(*tracetest.SpanStub){}
	}
	if _, ok := c.byID[id]; !ok {
		if len(c.order) >= maxTraceChanges {
			delete(c.byID, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, id)
	}
	c.byID[id] = change
}

func (c *traceChanges) get(id trace.TraceID) func(*tracetest.SpanStub) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[id]
}

// handleAnnotation keeps the change of one annotation record.
func (p *Pipeline) handleAnnotation(a Annotator, raw []byte, kind uint32) {
	an, err := safeAnnotate(a, raw)
	if err == nil && an.Trace.IsValid() && an.Change != nil {
		p.c.annotations.Add(1)
		p.traceChanges.add(an.Trace, an.Change)
		return
	}
	id, change := an.Span, an.Change
	if err == nil && (!id.IsValid() || change == nil) {
		err = ErrInvalidSpanContext
	}
	if err != nil {
		p.c.decodeErrors.Add(1)
		p.logProblem(&p.logDecode, err, "dropping annotation", "kind", kind, "size", len(raw))
		return
	}
	p.c.annotations.Add(1)
	if n := p.changes.add(id, change); n > 0 {
		p.c.annotationsLost.Add(uint64(n))
		p.logProblem(&p.logDrop, nil, "too many spans with pending annotations: dropping the oldest", "max", maxPendingSpans)
	}
}

// safeAnnotate runs a, turning a panic into an error.
func safeAnnotate(a Annotator, raw []byte) (an Annotation, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errDecoderPanic, r)
		}
	}()
	return a(raw)
}

// applyChanges applies the pending changes of s's span, each guarded
// against panics.
func (p *Pipeline) applyChanges(s *tracetest.SpanStub) {
	changes := p.changes.take(s.SpanContext.SpanID())
	if c := p.traceChanges.get(s.SpanContext.TraceID()); c != nil {
		changes = append([]func(*tracetest.SpanStub){c}, changes...)
	}
	for _, change := range changes {
		func() {
			defer func() {
				if r := recover(); r != nil {
					p.logProblem(&p.logDecode, fmt.Errorf("%w: %v", errDecoderPanic, r), "dropping annotation")
				}
			}()
			change(s)
		}()
	}
}

// TruncatedKey marks a span that lost attributes, events or links because
// it was too large to copy whole from the target (attribute.Bool true).
const TruncatedKey = attribute.Key("sonde.span.truncated")

func isTruncated(s *tracetest.SpanStub) bool {
	for _, kv := range s.Attributes {
		if kv.Key == TruncatedKey {
			return kv.Value.AsBool()
		}
	}
	return false
}
