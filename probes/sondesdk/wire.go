package sondesdk

// The agent's side of the sdk's wire format: the encoder, and the format's
// description, are in the sdk module (sdk/internal/wire, which this module
// may not import); the golden records in sdk/testdata/wire are checked by
// both sides. Input is the bytes the BPF side copied from the target: every
// length is checked, no count sizes an allocation beyond what the input can
// hold, and every string is made valid UTF-8.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// wireVersion is the format version this decoder reads (sdk wire.Version).
const wireVersion = 1

// Record types (sdk wire.Type*).
const (
	recSpan          = 1
	recSetAttributes = 2
	recAddEvent      = 3
	recSetStatus     = 4
	recSetName       = 5
)

// Attribute value types (sdk wire.Value*, the numbers of attribute.Type).
const (
	valBool         = 1
	valInt64        = 2
	valFloat64      = 3
	valString       = 4
	valBoolSlice    = 5
	valInt64Slice   = 6
	valFloat64Slice = 7
	valStringSlice  = 8
)

// Smallest encodings, which bound what a count may claim.
const (
	minAttr  = 2 + 1 + 1              // empty key, type, bool
	minEvent = 2 + 8 + 4 + 2          // name, time, dropped, attribute count
	minLink  = 16 + 8 + 2 + 2 + 4 + 2 // IDs, flags, tracestate, dropped, count
)

// maxRecord is the largest record the sdk encodes (sdk wire.MaxSize).
const maxRecord = 64 << 10

var (
	errShortRecord = errors.New("sdk record truncated")
	errRecordSize  = fmt.Errorf("sdk record larger than %d bytes", maxRecord)
)

// DecodeSpan fills s from the encoded span buf: name, kind, start and end
// time, attributes, events, links, status, instrumentation scope and
// dropped counts. The IDs and the parent are the BPF event's and are left
// as they are; so is all of s when buf is malformed.
func DecodeSpan(buf []byte, s *tracetest.SpanStub) error {
	r, err := newReader(buf, recSpan)
	if err != nil {
		return err
	}
	kind := trace.SpanKind(r.u8())
	code := codes.Code(r.u8())
	start, end := r.time(), r.time()
	da, de, dl := r.u32(), r.u32(), r.u32()
	name, desc := r.str(), r.str()
	scope := instrumentation.Scope{Name: r.str(), Version: r.str(), SchemaURL: r.str()}
	attrs := r.attrs()
	var events []sdktrace.Event
	if n := r.count(minEvent); n > 0 {
		events = make([]sdktrace.Event, 0, n)
		for i := 0; i < n && r.err == nil; i++ {
			events = append(events, r.event())
		}
	}
	var links []sdktrace.Link
	if n := r.count(minLink); n > 0 {
		links = make([]sdktrace.Link, 0, n)
		for i := 0; i < n && r.err == nil; i++ {
			links = append(links, r.link())
		}
	}
	if err := r.done(); err != nil {
		return err
	}
	if kind == trace.SpanKindUnspecified {
		kind = trace.SpanKindInternal
	}
	if kind > trace.SpanKindConsumer {
		return fmt.Errorf("sdk span: unknown kind %d", kind)
	}
	if code > codes.Ok {
		return fmt.Errorf("sdk span: unknown status code %d", code)
	}
	s.Name = name
	s.SpanKind = kind
	s.StartTime, s.EndTime = start, end
	s.Attributes, s.Events, s.Links = attrs, events, links
	s.Status = sdktrace.Status{Code: code, Description: desc}
	s.InstrumentationScope = scope
	s.DroppedAttributes, s.DroppedEvents, s.DroppedLinks = da, de, dl
	return nil
}

// DecodeAnnotation decodes one annotation the app made on an eBPF span
// (SetAttributes, AddEvent or RecordError, SetStatus, SetName through
// sdk.SpanFromContext) and returns the change to apply to that span when it
// is exported. The change keeps no reference to buf.
//
// Attributes replace those of the same key; a status follows the
// OpenTelemetry rules (Ok is final, Error does not replace Ok, Unset
// changes nothing).
func DecodeAnnotation(buf []byte) (func(*tracetest.SpanStub), error) {
	r, err := newReader(buf, 0)
	if err != nil {
		return nil, err
	}
	var change func(*tracetest.SpanStub)
	switch typ := buf[1]; typ {
	case recSetAttributes:
		dropped := r.u32()
		attrs := r.attrs()
		change = func(s *tracetest.SpanStub) {
			s.Attributes = mergeAttributes(s.Attributes, attrs)
			s.DroppedAttributes += dropped
		}
	case recAddEvent:
		e := r.event()
		change = func(s *tracetest.SpanStub) { s.Events = append(s.Events, e) }
	case recSetStatus:
		code := codes.Code(r.u8())
		desc := r.str()
		if r.err == nil && code > codes.Ok {
			return nil, fmt.Errorf("sdk annotation: unknown status code %d", code)
		}
		if code != codes.Error {
			desc = ""
		}
		change = func(s *tracetest.SpanStub) {
			if code < s.Status.Code {
				return
			}
			s.Status = sdktrace.Status{Code: code, Description: desc}
		}
	case recSetName:
		name := r.str()
		change = func(s *tracetest.SpanStub) { s.Name = name }
	default:
		return nil, fmt.Errorf("sdk annotation: unknown record type %d", typ)
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	return change, nil
}

// mergeAttributes sets add on attrs: a key already there takes the new
// value, in place; others are appended.
func mergeAttributes(attrs, add []attribute.KeyValue) []attribute.KeyValue {
	if len(add) == 0 {
		return attrs
	}
	at := make(map[attribute.Key]int, len(attrs)+len(add))
	for i, kv := range attrs {
		at[kv.Key] = i
	}
	for _, kv := range add {
		if i, ok := at[kv.Key]; ok {
			attrs[i] = kv
			continue
		}
		at[kv.Key] = len(attrs)
		attrs = append(attrs, kv)
	}
	return attrs
}

// reader reads a record; the first error sticks and makes every later read
// return zero values.
type reader struct {
	b   []byte
	err error
}

// newReader checks the record's size, version and (unless want is 0) type,
// and returns a reader on its body.
func newReader(buf []byte, want byte) (reader, error) {
	switch {
	case len(buf) > maxRecord:
		return reader{}, errRecordSize
	case len(buf) < 2:
		return reader{}, errShortRecord
	case buf[0] != wireVersion:
		return reader{}, fmt.Errorf("sdk record: format version %d, want %d", buf[0], wireVersion)
	case want != 0 && buf[1] != want:
		return reader{}, fmt.Errorf("sdk record: type %d, want %d", buf[1], want)
	}
	return reader{b: buf[2:]}, nil
}

func (r *reader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = fmt.Errorf("sdk record: %d bytes after its end", len(r.b))
	}
	return r.err
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errShortRecord
		return nil
	}
	b := r.b[:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) u8() byte {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) u16() int {
	if b := r.take(2); b != nil {
		return int(binary.LittleEndian.Uint16(b))
	}
	return 0
}

func (r *reader) u32() int {
	if b := r.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}

func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (r *reader) time() time.Time {
	if ns := int64(r.u64()); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// str reads a string, as a copy, made valid UTF-8.
func (r *reader) str() string {
	b := r.take(r.u16())
	if len(b) == 0 {
		return ""
	}
	return pipeline.Text(b, false)
}

// count reads a u16 count of elements of at least size bytes each, and
// fails when the rest of the record cannot hold them.
func (r *reader) count(size int) int {
	n := r.u16()
	if r.err == nil && n*size > len(r.b) {
		r.err = errShortRecord
	}
	if r.err != nil {
		return 0
	}
	return n
}

func (r *reader) attrs() []attribute.KeyValue {
	n := r.count(minAttr)
	if n == 0 {
		return nil
	}
	attrs := make([]attribute.KeyValue, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		attrs = append(attrs, r.attr())
	}
	return attrs
}

func (r *reader) attr() attribute.KeyValue {
	key := attribute.Key(r.str())
	switch t := r.u8(); t {
	case valBool:
		return key.Bool(r.u8() != 0)
	case valInt64:
		return key.Int64(int64(r.u64()))
	case valFloat64:
		return key.Float64(math.Float64frombits(r.u64()))
	case valString:
		return key.String(r.str())
	case valBoolSlice:
		v := make([]bool, r.count(1))
		for i := range v {
			v[i] = r.u8() != 0
		}
		return key.BoolSlice(v)
	case valInt64Slice:
		v := make([]int64, r.count(8))
		for i := range v {
			v[i] = int64(r.u64())
		}
		return key.Int64Slice(v)
	case valFloat64Slice:
		v := make([]float64, r.count(8))
		for i := range v {
			v[i] = math.Float64frombits(r.u64())
		}
		return key.Float64Slice(v)
	case valStringSlice:
		v := make([]string, r.count(2))
		for i := range v {
			v[i] = r.str()
		}
		return key.StringSlice(v)
	default:
		if r.err == nil {
			r.err = fmt.Errorf("sdk record: unknown attribute type %d", t)
		}
		return attribute.KeyValue{}
	}
}

func (r *reader) event() sdktrace.Event {
	var e sdktrace.Event
	e.Name = r.str()
	e.Time = r.time()
	e.DroppedAttributeCount = r.u32()
	e.Attributes = r.attrs()
	return e
}

func (r *reader) link() sdktrace.Link {
	var cfg trace.SpanContextConfig
	copy(cfg.TraceID[:], r.take(16))
	copy(cfg.SpanID[:], r.take(8))
	cfg.TraceFlags = trace.TraceFlags(r.u8())
	cfg.Remote = r.u8()&1 != 0
	if ts := r.str(); ts != "" {
		// A tracestate clipped by the encoder does not parse: dropped.
		cfg.TraceState, _ = trace.ParseTraceState(ts)
	}
	var l sdktrace.Link
	l.SpanContext = trace.NewSpanContext(cfg)
	l.DroppedAttributeCount = r.u32()
	l.Attributes = r.attrs()
	return l
}
