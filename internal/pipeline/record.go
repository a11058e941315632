package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel/trace"
)

// ErrShortRecord is returned by Decode when a record is smaller than the
// type it is decoded into.
var ErrShortRecord = errors.New("record too short")

// errNotPlain reports a Decode target that holds pointers.
var errNotPlain = errors.New("type holds pointers")

// Decode copies the head of raw, in host byte order, into v: the fixed
// layout of a bpf2go-generated struct. raw may be longer than v. T must
// hold only numbers, bools, arrays and structs of those (what bpf2go
// generates); any other T is an error.
func Decode[T any](raw []byte, v *T) error {
	size := int(unsafe.Sizeof(*v))
	if len(raw) < size {
		return fmt.Errorf("decoding %T: %w: %d bytes, want %d", *v, ErrShortRecord, len(raw), size)
	}
	if !isPlain(reflect.TypeFor[T]()) {
		return fmt.Errorf("decoding %T: %w", *v, errNotPlain)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), size), raw)
	return nil
}

// plainTypes caches isPlain answers by reflect.Type.
var plainTypes sync.Map

// isPlain reports whether t holds only fixed-size numbers and bools, so
// that copying bytes over a value of t is memory safe.
func isPlain(t reflect.Type) bool {
	if v, ok := plainTypes.Load(t); ok {
		return v.(bool)
	}
	ok := plain(t)
	plainTypes.Store(t, ok)
	return ok
}

func plain(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return true
	case reflect.Array:
		return plain(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plain(t.Field(i).Type) {
				return false
			}
		}
		return true
	default:
		return false
	}
}

// CString returns b up to its first NUL byte, or all of b when it has none
// (then the text may have been cut by the buffer), as valid UTF-8: see
// Text. The string is a copy: it stays valid after the ring buffer record
// is reused.
func CString(b []byte) string {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return Text(b, true)
	}
	return Text(b[:i], false)
}

// Text returns b, read from the target's memory, as valid UTF-8, which
// OTLP requires of every string: when truncated, a character cut at the
// end is dropped; other invalid bytes become U+FFFD.
func Text(b []byte, truncated bool) string {
	if truncated {
		for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
			if utf8.RuneStart(b[i]) {
				if !utf8.FullRune(b[i:]) {
					b = b[:i]
				}
				break
			}
		}
	}
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// TraceID converts the 16 bytes of a BPF span context to a trace ID.
func TraceID(b [16]byte) trace.TraceID { return trace.TraceID(b) }

// SpanID converts the 8 bytes of a BPF span context to a span ID.
func SpanID(b [8]byte) trace.SpanID { return trace.SpanID(b) }

// SpanContext returns the sampled span context with these IDs, or the
// empty (invalid) span context when either ID is all zeros, which is how
// BPF records say "no parent". Use WithRemote(true) on a parent that came
// from another process.
func SpanContext(traceID [16]byte, spanID [8]byte) trace.SpanContext {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID(traceID),
		SpanID:     trace.SpanID(spanID),
		TraceFlags: trace.FlagsSampled,
	})
	if !sc.IsValid() {
		return trace.SpanContext{}
	}
	return sc
}
