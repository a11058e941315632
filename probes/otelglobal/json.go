package otelglobal

// Decoding of the OTLP/JSON that go.opentelemetry.io/auto/sdk hands to
// (*span).ended: one telemetry.Traces holding resourceSpans[0].scopeSpans[0]
// with one span. The bytes come from the target's memory, so nothing here may
// panic, whatever the input.
//
// The BPF side copies the buffer whole when it is at most 64 KiB. A larger
// buffer arrives as its first 60 KiB (head) and last 4 KiB (tail). The sdk
// writes the span's keys in a fixed order: traceId, spanId, traceState, flags,
// name, kind, attributes, droppedAttributesCount, events, droppedEventsCount,
// links, droppedLinksCount, status, parentSpanId, startTimeUnixNano,
// endTimeUnixNano. Then it writes schemaUrl, on the scopeSpans. A cut span
// keeps what the head holds and gets its last fields back from the tail.
//
// What is lossy:
//   - bytesValue becomes attribute.String holding the base64 text as sent.
//     A kvlistValue, or an array that is mixed or nested, becomes
//     attribute.String holding compact JSON ({"k":v,...} or [v,...]; bytes
//     inside are quoted base64). An empty array becomes an empty
//     attribute.StringSlice. A value that is empty or null is dropped, and so
//     is an attribute whose key is empty.
//   - Unknown span kinds become Internal. Unknown status codes become Unset.
//     A traceState that does not parse becomes empty.
//   - On a cut span, everything between the cut and the tail's last fields is
//     lost. That covers the rest of the attributes, events and links, and
//     droppedAttributesCount when the cut falls before it. The dropped counts
//     become lower bounds: the sdk's own count, plus 1 for a list cut inside
//     it, and for events at least the number of event ends
//     ("timeUnixNano") seen in the tail. Whole events in the tail are counted
//     but not decoded.
//   - The resource is never decoded. The sdk always writes it empty.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// truncatedKey marks a span whose JSON the BPF side could not copy whole.
const truncatedKey = attribute.Key("sonde.span.truncated")

// decodeSpanJSON fills s from the JSON of one auto/sdk span: total bytes, of
// which head is the start and tail the end (tail is empty when len(head) ==
// total). It sets the name, kind, times, attributes, events, links, status,
// dropped counts and instrumentation scope. It never sets SpanContext or
// Parent, because the BPF event carries those.
// If the span was cut (len(head) < total), it returns truncated and adds
// sonde.span.truncated=true. A cut that falls inside a value is not an
// error. Malformed JSON before the cut is.
func decodeSpanJSON(head, tail []byte, total int, s *tracetest.SpanStub) (truncated bool, err error) {
	ss, sp, truncated, err := parseSpanJSON(head, tail, total)
	if ss == nil {
		return truncated, err
	}
	sp.fill(s, ss)
	if truncated {
		s.Attributes = append(s.Attributes, truncatedKey.Bool(true))
	}
	return truncated, err
}

// parseSpanJSON decodes into the wire structs. These keep the span's own IDs,
// which decodeSpanJSON does not use. ss and sp are nil only on error.
func parseSpanJSON(head, tail []byte, total int) (ss *otlpScopeSpans, sp *otlpSpan, truncated bool, err error) {
	if total < 0 {
		return nil, nil, false, fmt.Errorf("span json: negative length %d", total)
	}
	if len(head) >= total {
		var tr otlpTraces
		if err := json.Unmarshal(head[:total], &tr); err != nil {
			return nil, nil, false, fmt.Errorf("span json: %w", err)
		}
		if len(tr.ResourceSpans) == 0 || len(tr.ResourceSpans[0].ScopeSpans) == 0 ||
			len(tr.ResourceSpans[0].ScopeSpans[0].Spans) == 0 {
			return nil, nil, false, errors.New("span json: no span")
		}
		ss = &tr.ResourceSpans[0].ScopeSpans[0]
		return ss, &ss.Spans[0], false, nil
	}
	ss, sp = new(otlpScopeSpans), new(otlpSpan)
	w := walker{dec: json.NewDecoder(bytes.NewReader(head)), head: head}
	w.object(func(k string) bool { // the Traces object
		if k != "resourceSpans" {
			return w.skip()
		}
		return w.first(func() bool {
			return w.object(func(k string) bool {
				if k != "scopeSpans" {
					return w.skip()
				}
				return w.first(func() bool { return w.scopeSpans(ss, sp) })
			})
		})
	})
	recoverTail(tail, ss, sp)
	sp.lostEvents = max(sp.lostEvents, countKey(tail, "timeUnixNano"))
	return ss, sp, true, w.err
}

// Wire structs: a lenient subset of OTLP/JSON. Integers may be numbers or
// strings. Unknown fields are ignored.
type (
	otlpTraces struct {
		ResourceSpans []struct {
			ScopeSpans []otlpScopeSpans `json:"scopeSpans"`
		} `json:"resourceSpans"`
	}
	otlpScopeSpans struct {
		Scope struct {
			Name       string   `json:"name"`
			Version    string   `json:"version"`
			Attributes []otlpKV `json:"attributes"`
		} `json:"scope"`
		Spans     []otlpSpan `json:"spans"`
		SchemaURL string     `json:"schemaUrl"`
	}
	otlpSpan struct {
		TraceID       hexID       `json:"traceId"`
		SpanID        hexID       `json:"spanId"`
		ParentSpanID  hexID       `json:"parentSpanId"`
		TraceState    string      `json:"traceState"`
		Flags         jint        `json:"flags"`
		Name          string      `json:"name"`
		Kind          jint        `json:"kind"`
		StartTime     jint        `json:"startTimeUnixNano"`
		EndTime       jint        `json:"endTimeUnixNano"`
		Attributes    []otlpKV    `json:"attributes"`
		DroppedAttrs  jint        `json:"droppedAttributesCount"`
		Events        []otlpEvent `json:"events"`
		DroppedEvents jint        `json:"droppedEventsCount"`
		Links         []otlpLink  `json:"links"`
		DroppedLinks  jint        `json:"droppedLinksCount"`
		Status        struct {
			Message string `json:"message"`
			Code    jint   `json:"code"`
		} `json:"status"`

		// Counts of items known to be lost at a cut.
		lostAttrs, lostEvents, lostLinks int
	}
	otlpEvent struct {
		Name         string   `json:"name"`
		Time         jint     `json:"timeUnixNano"`
		Attributes   []otlpKV `json:"attributes"`
		DroppedAttrs jint     `json:"droppedAttributesCount"`
	}
	otlpLink struct {
		TraceID      hexID    `json:"traceId"`
		SpanID       hexID    `json:"spanId"`
		TraceState   string   `json:"traceState"`
		Flags        jint     `json:"flags"`
		Attributes   []otlpKV `json:"attributes"`
		DroppedAttrs jint     `json:"droppedAttributesCount"`
	}
	otlpKV struct {
		Key   string    `json:"key"`
		Value otlpValue `json:"value"`
	}
	otlpValue struct { // an AnyValue: at most one field is set
		StringValue *string  `json:"stringValue"`
		BoolValue   *bool    `json:"boolValue"`
		IntValue    *jint    `json:"intValue"`
		DoubleValue *jfloat  `json:"doubleValue"`
		BytesValue  *string  `json:"bytesValue"` // base64, kept as text
		ArrayValue  *otlpArr `json:"arrayValue"`
		KvlistValue *struct {
			Values []otlpKV `json:"values"`
		} `json:"kvlistValue"`
	}
	otlpArr struct {
		Values []otlpValue `json:"values"`
	}
)

// jint is an integer that may arrive as a JSON number or a string. Values
// beyond int64 are clamped, and null leaves it unchanged.
type jint int64

func (n *jint) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil || s == "null" {
		return err
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = jint(i)
	} else if _, err := strconv.ParseUint(s, 10, 64); err == nil {
		*n = math.MaxInt64
	} else if f, err := strconv.ParseFloat(s, 64); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		*n = jint(f)
	} else {
		return fmt.Errorf("bad integer %.40q", s)
	}
	return nil
}

// jfloat is a double that may arrive as a number or a string, including
// "NaN" and "Infinity".
type jfloat float64

func (f *jfloat) UnmarshalJSON(b []byte) error {
	s, err := unquote(b)
	if err != nil || s == "null" {
		return err
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("bad double %.40q", s)
	}
	*f = jfloat(v)
	return nil
}

// hexID is a trace or span ID. It is nil when the ID is "" (the agent did
// not write it), missing, or not hex.
type hexID []byte

func (id *hexID) UnmarshalJSON(b []byte) error {
	var s string
	*id = nil
	if json.Unmarshal(b, &s) == nil {
		if v, err := hex.DecodeString(s); err == nil && len(v) > 0 {
			*id = v
		}
	}
	return nil
}

// unquote strips the quotes of a JSON string. It returns other values as
// they are.
func unquote(b []byte) (string, error) {
	if len(b) > 0 && b[0] == '"' {
		var s string
		err := json.Unmarshal(b, &s)
		return s, err
	}
	return string(b), nil
}

func (sp *otlpSpan) fill(s *tracetest.SpanStub, ss *otlpScopeSpans) {
	s.Name = sp.Name
	s.SpanKind = trace.SpanKindInternal
	if sp.Kind >= 1 && sp.Kind <= 5 { // OTLP numbers kinds as trace.SpanKind does
		s.SpanKind = trace.SpanKind(sp.Kind)
	}
	s.StartTime, s.EndTime = unixNano(sp.StartTime), unixNano(sp.EndTime)
	s.Attributes = attrs(sp.Attributes)
	s.DroppedAttributes = count(sp.DroppedAttrs) + sp.lostAttrs
	s.DroppedEvents = count(sp.DroppedEvents) + sp.lostEvents
	s.DroppedLinks = count(sp.DroppedLinks) + sp.lostLinks
	s.Events, s.Links = nil, nil
	for _, e := range sp.Events {
		s.Events = append(s.Events, sdktrace.Event{
			Name: e.Name, Time: unixNano(e.Time),
			Attributes: attrs(e.Attributes), DroppedAttributeCount: count(e.DroppedAttrs),
		})
	}
	for _, l := range sp.Links {
		ts, _ := trace.ParseTraceState(l.TraceState)
		cfg := trace.SpanContextConfig{
			TraceFlags: trace.TraceFlags(l.Flags & 0xff),
			TraceState: ts,
			Remote:     l.Flags&0x300 == 0x300, // OTLP: bit 8 has-is-remote, bit 9 is-remote
		}
		if len(l.TraceID) == len(cfg.TraceID) && len(l.SpanID) == len(cfg.SpanID) {
			copy(cfg.TraceID[:], l.TraceID)
			copy(cfg.SpanID[:], l.SpanID)
		}
		s.Links = append(s.Links, sdktrace.Link{
			SpanContext: trace.NewSpanContext(cfg),
			Attributes:  attrs(l.Attributes), DroppedAttributeCount: count(l.DroppedAttrs),
		})
	}
	s.Status = sdktrace.Status{Description: sp.Status.Message}
	switch sp.Status.Code {
	case 1:
		s.Status.Code = codes.Ok
	case 2:
		s.Status.Code = codes.Error
	}
	s.InstrumentationScope = instrumentation.Scope{
		Name: ss.Scope.Name, Version: ss.Scope.Version, SchemaURL: ss.SchemaURL,
		Attributes: attribute.NewSet(attrs(ss.Scope.Attributes)...),
	}
}

func unixNano(ns jint) time.Time {
	if ns <= 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ns))
}

func count(n jint) int { return int(min(max(n, 0), math.MaxInt32)) }

// attrs converts attributes; it returns nil when there are none.
func attrs(kvs []otlpKV) []attribute.KeyValue {
	var out []attribute.KeyValue
	for i := range kvs {
		if v, ok := kvs[i].Value.attr(); ok && kvs[i].Key != "" {
			out = append(out, attribute.KeyValue{Key: attribute.Key(kvs[i].Key), Value: v})
		}
	}
	return out
}

// attr converts an AnyValue. ok is false for an empty value. If a hostile
// value sets several fields, the first one in this order wins.
func (v *otlpValue) attr() (attribute.Value, bool) {
	switch v.kind() {
	case attribute.STRING:
		return attribute.StringValue(*v.StringValue), true
	case attribute.BOOL:
		return attribute.BoolValue(*v.BoolValue), true
	case attribute.INT64:
		return attribute.Int64Value(int64(*v.IntValue)), true
	case attribute.FLOAT64:
		return attribute.Float64Value(float64(*v.DoubleValue)), true
	}
	switch {
	case v.BytesValue != nil:
		return attribute.StringValue(*v.BytesValue), true
	case v.ArrayValue != nil:
		if sl, ok := v.ArrayValue.slice(); ok {
			return sl, true
		}
	case v.KvlistValue == nil:
		return attribute.Value{}, false
	}
	return attribute.StringValue(string(v.render(nil))), true // kvlist, mixed or nested array
}

// kind is the attribute type of a scalar value, or INVALID.
func (v *otlpValue) kind() attribute.Type {
	switch {
	case v.StringValue != nil:
		return attribute.STRING
	case v.BoolValue != nil:
		return attribute.BOOL
	case v.IntValue != nil:
		return attribute.INT64
	case v.DoubleValue != nil:
		return attribute.FLOAT64
	}
	return attribute.INVALID
}

// slice converts an array whose elements all have one scalar kind.
func (a *otlpArr) slice() (attribute.Value, bool) {
	vs := a.Values
	if len(vs) == 0 {
		return attribute.StringSliceValue(nil), true
	}
	k := vs[0].kind()
	for i := range vs {
		if vs[i].kind() != k {
			return attribute.Value{}, false
		}
	}
	switch k {
	case attribute.STRING:
		return attribute.StringSliceValue(conv(vs, func(v *otlpValue) string { return *v.StringValue })), true
	case attribute.BOOL:
		return attribute.BoolSliceValue(conv(vs, func(v *otlpValue) bool { return *v.BoolValue })), true
	case attribute.INT64:
		return attribute.Int64SliceValue(conv(vs, func(v *otlpValue) int64 { return int64(*v.IntValue) })), true
	case attribute.FLOAT64:
		return attribute.Float64SliceValue(conv(vs, func(v *otlpValue) float64 { return float64(*v.DoubleValue) })), true
	}
	return attribute.Value{}, false
}

func conv[T any](vs []otlpValue, f func(*otlpValue) T) []T {
	out := make([]T, len(vs))
	for i := range vs {
		out[i] = f(&vs[i])
	}
	return out
}

// render appends v as compact JSON. A bytesValue becomes its base64 text,
// quoted, and NaN and infinities become quoted strings.
func (v *otlpValue) render(b []byte) []byte {
	switch v.kind() {
	case attribute.STRING:
		return quote(b, *v.StringValue)
	case attribute.BOOL:
		return strconv.AppendBool(b, *v.BoolValue)
	case attribute.INT64:
		return strconv.AppendInt(b, int64(*v.IntValue), 10)
	case attribute.FLOAT64:
		f := float64(*v.DoubleValue)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return quote(b, strconv.FormatFloat(f, 'g', -1, 64))
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	switch {
	case v.BytesValue != nil:
		return quote(b, *v.BytesValue)
	case v.ArrayValue != nil:
		b = append(b, '[')
		for i := range v.ArrayValue.Values {
			if i > 0 {
				b = append(b, ',')
			}
			b = v.ArrayValue.Values[i].render(b)
		}
		return append(b, ']')
	case v.KvlistValue != nil:
		b = append(b, '{')
		for i, kv := range v.KvlistValue.Values {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(quote(b, kv.Key), ':')
			b = kv.Value.render(b)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

func quote(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// walker walks the head of a cut buffer with a json.Decoder. It takes each
// value whole or not at all, and stops at the first value the cut reaches.
// Its functions return false once the walk has stopped.
type walker struct {
	dec  *json.Decoder
	head []byte
	err  error // malformed JSON before the cut; nil at a plain cut
}

func (w *walker) stop(err error) bool {
	if w.err == nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		w.err = fmt.Errorf("span json: %w", err)
	}
	return false
}

// raw reads the next value whole. A number that ends where the head ends may
// have lost digits, so it counts as cut.
func (w *walker) raw() (json.RawMessage, bool) {
	var raw json.RawMessage
	if err := w.dec.Decode(&raw); err != nil {
		return nil, w.stop(err)
	}
	if w.dec.InputOffset() >= int64(len(w.head)) && len(raw) > 0 && (raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9') {
		return nil, false
	}
	return raw, true
}

func (w *walker) skip() bool { _, ok := w.raw(); return ok }

// field decodes the value of key into the struct dst through dst's json
// tags, by unmarshalling {key:value}. So the head gets the same leniency as a
// whole buffer.
func (w *walker) field(key string, dst any) bool {
	raw, ok := w.raw()
	if !ok {
		return false
	}
	if err := unmarshalField(key, raw, dst); err != nil {
		return w.stop(err)
	}
	return true
}

func unmarshalField(key string, raw json.RawMessage, dst any) error {
	obj := append(quote([]byte{'{'}, key), ':')
	return json.Unmarshal(append(append(obj, raw...), '}'), dst)
}

// open reads the delimiter d. A null counts as an empty container.
func (w *walker) open(d json.Delim) (ok, null bool) {
	t, err := w.dec.Token()
	if err != nil {
		return w.stop(err), false
	}
	if t == nil {
		return true, true
	}
	if t != d {
		return w.stop(fmt.Errorf("got %v, want %v", t, d)), false
	}
	return true, false
}

// object walks an object, calling field for each key.
func (w *walker) object(field func(key string) bool) bool {
	if ok, null := w.open('{'); !ok || null {
		return ok
	}
	for w.dec.More() {
		t, err := w.dec.Token()
		if err != nil {
			return w.stop(err)
		}
		if k, _ := t.(string); !field(k) {
			return false
		}
	}
	_, err := w.dec.Token() // '}'
	return err == nil || w.stop(err)
}

// array walks an array, calling elem for each element.
func (w *walker) array(elem func(i int) bool) bool {
	if ok, null := w.open('['); !ok || null {
		return ok
	}
	for i := 0; w.dec.More(); i++ {
		if !elem(i) {
			return false
		}
	}
	_, err := w.dec.Token() // ']'
	return err == nil || w.stop(err)
}

// first walks an array, calling f for its first element and skipping the
// rest.
func (w *walker) first(f func() bool) bool {
	return w.array(func(i int) bool { return i == 0 && f() || i > 0 && w.skip() })
}

func (w *walker) scopeSpans(ss *otlpScopeSpans, sp *otlpSpan) bool {
	return w.object(func(k string) bool {
		if k != "spans" {
			return w.field(k, ss)
		}
		return w.first(func() bool { return w.span(sp) })
	})
}

func (w *walker) span(sp *otlpSpan) bool {
	return w.object(func(k string) bool {
		switch k {
		case "attributes":
			return list(w, &sp.Attributes, &sp.lostAttrs)
		case "events":
			return list(w, &sp.Events, &sp.lostEvents)
		case "links":
			return list(w, &sp.Links, &sp.lostLinks)
		}
		return w.field(k, sp)
	})
}

// list decodes an array element by element. When the cut falls inside the
// array, it sets lost to 1, unless the cut falls right after a whole element.
// The sdk leaves empty lists out, so a list that is cut before its first
// element has lost at least one.
func list[T any](w *walker, dst *[]T, lost *int) bool {
	end := int64(-1)
	ok := w.array(func(int) bool {
		raw, ok := w.raw()
		if !ok {
			return false
		}
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return w.stop(err)
		}
		*dst = append(*dst, v)
		end = w.dec.InputOffset()
		return true
	})
	if !ok && w.err == nil && (end < 0 || len(bytes.TrimSpace(w.head[min(int(end), len(w.head)):])) > 0) {
		*lost = 1
	}
	return ok
}

// tailKeys are the keys the sdk writes last. It writes droppedEventsCount
// and droppedLinksCount too when they are not zero. schemaUrl belongs to the
// scopeSpans, all the others to the span.
var tailKeys = []string{"status", "droppedEventsCount", "droppedLinksCount",
	"parentSpanId", "startTimeUnixNano", "endTimeUnixNano", "schemaUrl"}

// recoverTail decodes the tailKeys from the end of a cut buffer. The tail
// starts mid-stream, so each value is decoded on its own, from its key.
func recoverTail(tail []byte, ss *otlpScopeSpans, sp *otlpSpan) {
	for _, k := range tailKeys {
		for i := lastKey(tail, k, len(tail)); i >= 0; i = lastKey(tail, k, i) {
			rest := tail[i+len(k)+3:] // after `"k":`
			w := walker{dec: json.NewDecoder(bytes.NewReader(rest)), head: rest}
			var dst any = sp
			if k == "schemaUrl" {
				dst = ss
			}
			if raw, ok := w.raw(); ok && unmarshalField(k, raw, dst) == nil {
				break
			}
		}
	}
}

// lastKey returns where the last `"key":` in b[:before] starts, or -1.
// It only matches a real object key, one that follows '{' or ','. Any other
// quote inside a JSON string is escaped, so a match cannot be inside a
// string. A match at the very start of b is rejected, since there is
// nothing before it to check.
func lastKey(b []byte, key string, before int) int {
	pat := []byte(`"` + key + `":`)
	for i := bytes.LastIndex(b[:before], pat); i > 0; i = bytes.LastIndex(b[:i], pat) {
		j := i - 1
		for j > 0 && (b[j] == ' ' || b[j] == '\n' || b[j] == '\r' || b[j] == '\t') {
			j--
		}
		if b[j] == ',' || b[j] == '{' {
			return i
		}
	}
	return -1
}

// countKey counts the real `"key":` object keys in b.
func countKey(b []byte, key string) int {
	n := 0
	for i := lastKey(b, key, len(b)); i >= 0; i = lastKey(b, key, i) {
		n++
	}
	return n
}
