package sdk

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.24.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/sonde-go/auto/sdk/internal/wire"
)

// maxElems bounds the attributes, events and links a span keeps in memory;
// more could not fit in one encoded span anyway. The rest are counted.
const maxElems = 1 << 14

// span is a span of TracerProvider. *span is the type trace.ContextWithSpan
// stores, which the agent relies on to find the app-side parent.
type span struct {
	noop.Span // no-op defaults for methods later otel versions add

	sc      trace.SpanContext // immutable after Start
	sampled bool              // immutable after Start

	mu    sync.Mutex
	ended bool
	data  wire.Span
	index map[attribute.Key]int // position of each attribute, once there are many
}

var _ trace.Span = (*span)(nil)

// SpanContext returns the span's identity, chosen in the app (see the
// package documentation for when the exported trace ID differs).
func (s *span) SpanContext() trace.SpanContext { return s.sc }

// IsRecording reports whether the span records (it is sampled and not ended).
func (s *span) IsRecording() bool {
	if !s.sampled {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// TracerProvider returns the sdk's TracerProvider.
func (s *span) TracerProvider() trace.TracerProvider { return TracerProvider() }

// recording locks s and reports whether it may change; the caller unlocks
// when it returns true.
func (s *span) recording() bool {
	if !s.sampled {
		return false
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	return true
}

// SetAttributes sets attributes; a key already set takes the new value.
func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	if len(kv) == 0 || !s.recording() {
		return
	}
	defer s.mu.Unlock()
	s.setAttributes(kv)
}

func (s *span) setAttributes(kvs []attribute.KeyValue) {
	d := &s.data
	for _, kv := range kvs {
		if !wire.Keep(kv) {
			d.DroppedAttrs++
			continue
		}
		if i, ok := s.find(kv.Key); ok {
			d.Attrs[i] = kv
			continue
		}
		if len(d.Attrs) >= maxElems {
			d.DroppedAttrs++
			continue
		}
		if s.index != nil {
			s.index[kv.Key] = len(d.Attrs)
		}
		d.Attrs = append(d.Attrs, kv)
	}
}

// find returns the position of key, by a scan while attributes are few and
// through an index after.
func (s *span) find(key attribute.Key) (int, bool) {
	attrs := s.data.Attrs
	if s.index == nil {
		if len(attrs) < 32 {
			for i := range attrs {
				if attrs[i].Key == key {
					return i, true
				}
			}
			return 0, false
		}
		s.index = make(map[attribute.Key]int, 2*len(attrs))
		for i, kv := range attrs {
			s.index[kv.Key] = i
		}
	}
	i, ok := s.index[key]
	return i, ok
}

// AddEvent adds an event (trace.WithTimestamp, trace.WithAttributes).
func (s *span) AddEvent(name string, opts ...trace.EventOption) {
	if !s.recording() {
		return
	}
	defer s.mu.Unlock()
	cfg := trace.NewEventConfig(opts...)
	s.addEvent(newEvent(name, cfg.Timestamp(), cfg.Attributes()))
}

func (s *span) addEvent(e wire.Event) {
	if len(s.data.Events) >= maxElems {
		s.data.DroppedEvents++
		return
	}
	s.data.Events = append(s.data.Events, e)
}

// RecordError adds an "exception" event for err (with its stack trace when
// trace.WithStackTrace(true) is given); it does not change the status.
func (s *span) RecordError(err error, opts ...trace.EventOption) {
	if err == nil || !s.recording() {
		return
	}
	defer s.mu.Unlock()
	s.addEvent(errorEvent(err, opts))
}

// SetStatus sets the status: Ok is final, Error (with its description) is
// kept unless Ok is set, Unset changes nothing.
func (s *span) SetStatus(code codes.Code, description string) {
	if !s.recording() {
		return
	}
	defer s.mu.Unlock()
	if code < codes.Code(s.data.StatusCode) || code > codes.Ok {
		return
	}
	s.data.StatusCode = uint8(code)
	s.data.StatusDesc = ""
	if code == codes.Error {
		s.data.StatusDesc = description
	}
}

// SetName renames the span.
func (s *span) SetName(name string) {
	if !s.recording() {
		return
	}
	defer s.mu.Unlock()
	s.data.Name = name
}

// AddLink links the span to another (ignored when link has neither a valid
// span context nor attributes).
func (s *span) AddLink(link trace.Link) {
	if !s.recording() {
		return
	}
	defer s.mu.Unlock()
	s.addLink(link)
}

func (s *span) addLink(link trace.Link) {
	if !link.SpanContext.IsValid() && len(link.Attributes) == 0 {
		return
	}
	if len(s.data.Links) >= maxElems {
		s.data.DroppedLinks++
		return
	}
	link.Attributes = keepAttrs(link.Attributes)
	s.data.Links = append(s.data.Links, link)
}

// End ends the span (trace.WithTimestamp); only the first call counts. Called
// as a deferred function during a panic, it records an "exception" event for
// the panic (with its stack trace given trace.WithStackTrace(true)) and lets
// the panic go on.
func (s *span) End(opts ...trace.SpanEndOption) {
	now := time.Now()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	cfg := trace.NewSpanEndConfig(opts...)
	if r := recover(); r != nil {
		defer panic(r)
		if s.sampled {
			evOpts := []trace.EventOption{trace.WithTimestamp(now)}
			if cfg.StackTrace() {
				evOpts = append(evOpts, trace.WithStackTrace(true))
			}
			s.addEvent(exceptionEvent(typeStr(r), fmt.Sprint(r), evOpts))
		}
	}
	end := cfg.Timestamp()
	if end.IsZero() {
		end = now
	}
	s.data.End = end.UnixNano()
	if !attached() {
		s.mu.Unlock()
		return
	}
	bp := bufPool.Get().(*[]byte)
	buf := wire.AppendSpan((*bp)[:0], &s.data)
	s.mu.Unlock()
	callSpanEnded(s, buf)
	if cap(buf) <= 4*wire.MaxSize {
		*bp = buf
		bufPool.Put(bp)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func newEvent(name string, t time.Time, attrs []attribute.KeyValue) wire.Event {
	e := wire.Event{Name: name, Time: unixNano(t)}
	e.Attrs = keepAttrs(attrs)
	e.Dropped = len(attrs) - len(e.Attrs)
	return e
}

// keepAttrs returns attrs without the ones wire.Keep rejects (in place when
// it can: attrs is then not shared).
func keepAttrs(attrs []attribute.KeyValue) []attribute.KeyValue {
	for i, kv := range attrs {
		if !wire.Keep(kv) {
			out := append([]attribute.KeyValue(nil), attrs[:i]...)
			for _, kv := range attrs[i+1:] {
				if wire.Keep(kv) {
					out = append(out, kv)
				}
			}
			return out
		}
	}
	return attrs
}

// errorEvent is the semantic-conventions event RecordError adds for err.
func errorEvent(err error, opts []trace.EventOption) wire.Event {
	return exceptionEvent(typeStr(err), err.Error(), opts)
}

func exceptionEvent(typ, msg string, opts []trace.EventOption) wire.Event {
	cfg := trace.NewEventConfig(opts...)
	attrs := make([]attribute.KeyValue, 0, len(cfg.Attributes())+3)
	attrs = append(attrs, semconv.ExceptionType(typ), semconv.ExceptionMessage(msg))
	if cfg.StackTrace() {
		attrs = append(attrs, semconv.ExceptionStacktrace(stackTrace()))
	}
	attrs = append(attrs, cfg.Attributes()...)
	return newEvent(semconv.ExceptionEventName, cfg.Timestamp(), attrs)
}

// typeStr names the type of v as the OpenTelemetry SDK does.
func typeStr(v any) string {
	t := reflect.TypeOf(v)
	if t.PkgPath() == "" && t.Name() == "" {
		return t.String() // unnamed or pointer types: "*errors.errorString"
	}
	return t.PkgPath() + "." + t.Name()
}

func stackTrace() string {
	buf := make([]byte, 2048)
	for {
		n := runtime.Stack(buf, false)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
