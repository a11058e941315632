// Package wire encodes spans and span annotations in the binary format the
// Sonde agent reads from the sdk's hook functions.
//
// The format is little-endian and fixed-width (no varints). Every record
// starts with the format version and a record type:
//
//	record     = version:u8 type:u8 body
//	str        = len:u16 bytes            (UTF-8; clipped at a rune boundary)
//	attrs      = n:u16 attr*n
//	attr       = key:str vtype:u8 value
//	value      = bool:u8 | int64:i64 | float64:f64 | string:str
//	           | n:u16 (bool:u8|i64|f64|str)*n          (the four slice types)
//	             (types newer than bool..string slice are sent as strings)
//	event      = name:str time:i64 dropped:u32 attrs
//	link       = traceid:[16] spanid:[8] traceflags:u8 linkflags:u8
//	             tracestate:str dropped:u32 attrs   (linkflags bit 0: remote)
//
//	TypeSpan          kind:u8 status:u8 start:i64 end:i64
//	                  droppedattrs:u32 droppedevents:u32 droppedlinks:u32
//	                  name:str statusdesc:str scope:str scopeversion:str
//	                  schemaurl:str attrs n:u16 event*n n:u16 link*n
//	TypeSetAttributes dropped:u32 attrs
//	TypeAddEvent      event
//	TypeSetStatus     code:u8 desc:str
//	TypeSetName       name:str
//
// Times are Unix nanoseconds (0 for the zero time), kind is a
// trace.SpanKind, status a codes.Code, vtype an attribute.Type.
//
// A record is at most MaxSize bytes. When a span would be larger, the
// encoder keeps the header (names and descriptions are clipped to MaxShort
// bytes) and, list by list (attributes, then events, then links), drops the
// elements from the first one that does not fit to the end of that list,
// adding their number to the record's dropped counts. It never fails.
//
// probes/sondesdk in the main module holds the decoder; the golden records
// in the sdk module's testdata/wire are the shared truth for both sides.
package wire

import (
	"encoding/binary"
	"math"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Version is the format version, the first byte of every record.
const Version = 1

// Record types, the second byte of every record.
const (
	TypeSpan          = 1
	TypeSetAttributes = 2
	TypeAddEvent      = 3
	TypeSetStatus     = 4
	TypeSetName       = 5
)

// Attribute value types; the same numbers as attribute.Type.
const (
	ValueBool         = 1
	ValueInt64        = 2
	ValueFloat64      = 3
	ValueString       = 4
	ValueBoolSlice    = 5
	ValueInt64Slice   = 6
	ValueFloat64Slice = 7
	ValueStringSlice  = 8
)

const (
	// MaxSize is the largest record the encoder produces: what the agent
	// copies in one ring buffer record of 64 KiB, less its event header
	// (96 bytes; 128 kept free).
	MaxSize = 64<<10 - 128
	// MaxShort bounds the strings that are never dropped: span and event
	// names, status descriptions, scope fields, attribute keys, tracestate.
	MaxShort = 4096
	// maxLen is the largest length or count a u16 holds: string values and
	// slices are clipped to it.
	maxLen = 1<<16 - 1
)

// Event is a span event.
type Event struct {
	Name    string
	Time    int64
	Attrs   []attribute.KeyValue
	Dropped int
}

// Span is what the encoder needs of a span.
type Span struct {
	Name          string
	Kind          trace.SpanKind
	StatusCode    uint8
	StatusDesc    string
	Start, End    int64
	Scope         string
	ScopeVersion  string
	SchemaURL     string
	Attrs         []attribute.KeyValue
	Events        []Event
	Links         []trace.Link
	DroppedAttrs  int
	DroppedEvents int
	DroppedLinks  int
}

// AppendSpan appends the span record of s to b.
func AppendSpan(b []byte, s *Span) []byte {
	base := len(b)
	b = append(b, Version, TypeSpan, byte(s.Kind), s.StatusCode)
	b = appendI64(b, s.Start)
	b = appendI64(b, s.End)
	dropped := len(b)
	b = append(b, make([]byte, 12)...) // dropped counts, patched below
	b = appendStr(b, s.Name, MaxShort)
	b = appendStr(b, s.StatusDesc, MaxShort)
	b = appendStr(b, s.Scope, MaxShort)
	b = appendStr(b, s.ScopeVersion, MaxShort)
	b = appendStr(b, s.SchemaURL, MaxShort)

	// Each list may use what is left but the counts of the lists after it.
	var dAttrs, dEvents, dLinks int
	b, dAttrs = appendAttrs(b, s.Attrs, base+MaxSize-4)

	n := len(b)
	b = append(b, 0, 0)
	kept := 0
	for _, e := range s.Events {
		mark := len(b)
		var ok bool
		if b, ok = appendEvent(b, &e, base+MaxSize-2, false); !ok {
			b = b[:mark]
			break
		}
		kept++
	}
	binary.LittleEndian.PutUint16(b[n:], uint16(kept))
	dEvents = len(s.Events) - kept

	n = len(b)
	b = append(b, 0, 0)
	kept = 0
	for i := range s.Links {
		mark := len(b)
		var ok bool
		if b, ok = appendLink(b, &s.Links[i], base+MaxSize); !ok {
			b = b[:mark]
			break
		}
		kept++
	}
	binary.LittleEndian.PutUint16(b[n:], uint16(kept))
	dLinks = len(s.Links) - kept

	putU32(b[dropped:], s.DroppedAttrs+dAttrs)
	putU32(b[dropped+4:], s.DroppedEvents+dEvents)
	putU32(b[dropped+8:], s.DroppedLinks+dLinks)
	return b
}

// AppendSetAttributes appends a set-attributes record to b.
func AppendSetAttributes(b []byte, attrs []attribute.KeyValue, dropped int) []byte {
	base := len(b)
	b = append(b, Version, TypeSetAttributes, 0, 0, 0, 0)
	b, d := appendAttrs(b, attrs, base+MaxSize)
	putU32(b[base+2:], dropped+d)
	return b
}

// AppendAddEvent appends an add-event record to b. An event too large for
// a record keeps its name and time and loses attributes from the end.
func AppendAddEvent(b []byte, e *Event) []byte {
	base := len(b)
	b = append(b, Version, TypeAddEvent)
	b, _ = appendEvent(b, e, base+MaxSize, true)
	return b
}

// AppendSetStatus appends a set-status record to b.
func AppendSetStatus(b []byte, code uint8, desc string) []byte {
	b = append(b, Version, TypeSetStatus, code)
	return appendStr(b, desc, MaxShort)
}

// AppendSetName appends a set-name record to b.
func AppendSetName(b []byte, name string) []byte {
	b = append(b, Version, TypeSetName)
	return appendStr(b, name, MaxShort)
}

// appendEvent appends e; it reports false when e does not fit below limit,
// unless partial, where attributes are dropped from the end instead.
func appendEvent(b []byte, e *Event, limit int, partial bool) ([]byte, bool) {
	b = appendStr(b, e.Name, MaxShort)
	b = appendI64(b, e.Time)
	d := len(b)
	b = append(b, 0, 0, 0, 0)
	b, dropped := appendAttrs(b, e.Attrs, limit)
	putU32(b[d:], e.Dropped+dropped)
	return b, len(b) <= limit && (partial || dropped == 0)
}

func appendLink(b []byte, l *trace.Link, limit int) ([]byte, bool) {
	tid, sid := l.SpanContext.TraceID(), l.SpanContext.SpanID()
	b = append(b, tid[:]...)
	b = append(b, sid[:]...)
	var flags byte
	if l.SpanContext.IsRemote() {
		flags = 1
	}
	b = append(b, byte(l.SpanContext.TraceFlags()), flags)
	if ts := l.SpanContext.TraceState(); ts.Len() > 0 {
		b = appendStr(b, ts.String(), MaxShort)
	} else {
		b = append(b, 0, 0)
	}
	b = append(b, 0, 0, 0, 0) // dropped attributes: links are kept whole
	if len(b) > limit {
		return b, false
	}
	b, dropped := appendAttrs(b, l.Attributes, limit)
	return b, dropped == 0
}

// appendAttrs appends the count and the attributes that fit below limit,
// stopping at the first that does not; it returns how many it dropped.
func appendAttrs(b []byte, attrs []attribute.KeyValue, limit int) ([]byte, int) {
	n := len(b)
	b = append(b, 0, 0)
	if len(b) > limit {
		return b, len(attrs)
	}
	kept := 0
	for _, kv := range attrs {
		if kept == maxLen {
			break
		}
		mark := len(b)
		var ok bool
		if b, ok = appendAttr(b, kv, limit); !ok {
			b = b[:mark]
			break
		}
		kept++
	}
	binary.LittleEndian.PutUint16(b[n:], uint16(kept))
	return b, len(attrs) - kept
}

// appendAttr appends kv and reports whether it fits below limit; a slice
// is abandoned as soon as it passes limit, so b grows at most one string
// past it.
func appendAttr(b []byte, kv attribute.KeyValue, limit int) ([]byte, bool) {
	b = appendStr(b, string(kv.Key), MaxShort)
	v := kv.Value
	switch v.Type() {
	case attribute.BOOL:
		b = append(b, ValueBool, boolByte(v.AsBool()))
	case attribute.INT64:
		b = append(b, ValueInt64)
		b = appendI64(b, v.AsInt64())
	case attribute.FLOAT64:
		b = append(b, ValueFloat64)
		b = appendI64(b, int64(math.Float64bits(v.AsFloat64())))
	case attribute.STRING:
		b = append(b, ValueString)
		b = appendStr(b, v.AsString(), maxLen)
	case attribute.BOOLSLICE:
		s := v.AsBoolSlice()
		s = s[:min(len(s), maxLen)]
		b = appendU16(append(b, ValueBoolSlice), len(s))
		if len(b)+len(s) > limit {
			return b, false
		}
		for _, x := range s {
			b = append(b, boolByte(x))
		}
	case attribute.INT64SLICE:
		s := v.AsInt64Slice()
		s = s[:min(len(s), maxLen)]
		b = appendU16(append(b, ValueInt64Slice), len(s))
		if len(b)+8*len(s) > limit {
			return b, false
		}
		for _, x := range s {
			b = appendI64(b, x)
		}
	case attribute.FLOAT64SLICE:
		s := v.AsFloat64Slice()
		s = s[:min(len(s), maxLen)]
		b = appendU16(append(b, ValueFloat64Slice), len(s))
		if len(b)+8*len(s) > limit {
			return b, false
		}
		for _, x := range s {
			b = appendI64(b, int64(math.Float64bits(x)))
		}
	case attribute.STRINGSLICE:
		s := v.AsStringSlice()
		s = s[:min(len(s), maxLen)]
		b = appendU16(append(b, ValueStringSlice), len(s))
		for _, x := range s {
			if b = appendStr(b, x, maxLen); len(b) > limit {
				return b, false
			}
		}
	default:
		// A type newer than this format (bytes, slices of values, maps in
		// recent otel versions): carried as its string form.
		b = append(b, ValueString)
		b = appendStr(b, v.Emit(), maxLen)
	}
	return b, len(b) <= limit
}

// Clip returns s cut to at most n bytes at a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func appendStr(b []byte, s string, max int) []byte {
	s = Clip(s, max)
	b = appendU16(b, len(s))
	return append(b, s...)
}

func appendU16(b []byte, v int) []byte { return binary.LittleEndian.AppendUint16(b, uint16(v)) }

func appendI64(b []byte, v int64) []byte { return binary.LittleEndian.AppendUint64(b, uint64(v)) }

func putU32(b []byte, v int) {
	if v > math.MaxUint32 {
		v = math.MaxUint32
	}
	binary.LittleEndian.PutUint32(b, uint32(v))
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Keep reports whether kv is worth recording: it has a key and a value
// (attribute.INVALID, the zero Type, has none).
func Keep(kv attribute.KeyValue) bool {
	return kv.Key.Defined() && kv.Value.Type() != attribute.Type(0)
}
