package otlptest

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span is one received span, flattened with its resource and scope.
type Span struct {
	Resource     map[string]any // resource attributes
	Scope        string         // instrumentation scope name
	ScopeVersion string
	Name         string
	Kind         ptrace.SpanKind
	TraceID      pcommon.TraceID
	SpanID       pcommon.SpanID
	ParentID     pcommon.SpanID // empty for a root span
	TraceState   string
	Flags        uint32
	Start, End   time.Time
	Attrs        map[string]any
	StatusCode   ptrace.StatusCode
	StatusMsg    string
	Events       []Event
	Links        []Link
}

// Event is a span event.
type Event struct {
	Name  string
	Time  time.Time
	Attrs map[string]any
}

// Link is a span link.
type Link struct {
	TraceID pcommon.TraceID
	SpanID  pcommon.SpanID
	Attrs   map[string]any
}

// Str returns the string attribute key, or "" when it is absent or not a
// string.
func (s Span) Str(key string) string {
	v, _ := s.Attrs[key].(string)
	return v
}

// Int returns the integer attribute key, or 0 when it is absent or not an
// integer.
func (s Span) Int(key string) int64 {
	v, _ := s.Attrs[key].(int64)
	return v
}

// flatten appends every span of td to dst.
func flatten(dst []Span, td ptrace.Traces) []Span {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := range spans.Len() {
				dst = append(dst, convert(spans.At(k), rs.Resource(), ss.Scope()))
			}
		}
	}
	return dst
}

func convert(sp ptrace.Span, res pcommon.Resource, scope pcommon.InstrumentationScope) Span {
	s := Span{
		Resource:     res.Attributes().AsRaw(),
		Scope:        scope.Name(),
		ScopeVersion: scope.Version(),
		Name:         sp.Name(),
		Kind:         sp.Kind(),
		TraceID:      sp.TraceID(),
		SpanID:       sp.SpanID(),
		ParentID:     sp.ParentSpanID(),
		TraceState:   sp.TraceState().AsRaw(),
		Flags:        sp.Flags(),
		Start:        sp.StartTimestamp().AsTime(),
		End:          sp.EndTimestamp().AsTime(),
		Attrs:        sp.Attributes().AsRaw(),
		StatusCode:   sp.Status().Code(),
		StatusMsg:    sp.Status().Message(),
	}
	evs := sp.Events()
	for i := range evs.Len() {
		e := evs.At(i)
		s.Events = append(s.Events, Event{Name: e.Name(), Time: e.Timestamp().AsTime(), Attrs: e.Attributes().AsRaw()})
	}
	links := sp.Links()
	for i := range links.Len() {
		l := links.At(i)
		s.Links = append(s.Links, Link{TraceID: l.TraceID(), SpanID: l.SpanID(), Attrs: l.Attributes().AsRaw()})
	}
	return s
}
