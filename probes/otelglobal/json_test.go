package otelglobal

// The testdata files full, noids, limits, big and huge.json are real
// go.opentelemetry.io/auto/sdk v1.2.1 output (otel v1.47.0), captured from
// its `ended` hook. A start hook wrote the span context and the parent, as
// the agent does, except in noids.json. limits.json was made under small
// OTEL_*_LIMIT settings, and big and huge.json with
// OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=-1. lenient.json is written by hand. It
// holds what the sdk never writes: bytes, kvlists, mixed arrays, ints as
// numbers, and unknown fields. testdata/sdkjson/main.go is the generator.

import (
	"bytes"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const (
	bpfWhole = 64 << 10           // copied whole up to this size
	bpfTail  = 4 << 10            // tail copied beyond it
	bpfHead  = bpfWhole - bpfTail // head copied beyond it
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// bpfCopy splits b as the BPF side does.
func bpfCopy(b []byte) (head, tail []byte) {
	if len(b) <= bpfWhole {
		return b, nil
	}
	return b[:bpfHead], b[len(b)-bpfTail:]
}

func decodeWhole(t *testing.T, name string) tracetest.SpanStub {
	t.Helper()
	b := readTestdata(t, name)
	var s tracetest.SpanStub
	truncated, err := decodeSpanJSON(b, nil, len(b), &s)
	if err != nil || truncated {
		t.Fatalf("%s: truncated=%v err=%v", name, truncated, err)
	}
	return s
}

var t0 = time.Unix(0, 1700000000123456789)

func at(d time.Duration) time.Time { return t0.Add(d) }

func sc(tid trace.TraceID, sid trace.SpanID, flags trace.TraceFlags, ts string) trace.SpanContext {
	state, err := trace.ParseTraceState(ts)
	if err != nil {
		panic(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: flags, TraceState: state})
}

var fixtureScope = instrumentation.Scope{
	Name: "github.com/sonde-go/fixture", Version: "v1.2.3",
	SchemaURL: "https://opentelemetry.io/schemas/1.26.0", Attributes: attribute.NewSet(),
}

// compare reports every field of got that differs from want.
func compare(t *testing.T, got, want tracetest.SpanStub) {
	t.Helper()
	g, w := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s:\n got %+v\nwant %+v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
}

func TestDecodeSpanJSONFull(t *testing.T) {
	got := decodeWhole(t, "full.json")
	compare(t, got, tracetest.SpanStub{
		Name:      "GET /users/{id}",
		SpanKind:  trace.SpanKindServer,
		StartTime: t0,
		EndTime:   at(1500 * time.Millisecond),
		Attributes: []attribute.KeyValue{
			attribute.String("http.request.method", "GET"),
			attribute.String("unicode", "héllo \"wörld\" \u2603 <tag>&"),
			attribute.Bool("ok", true),
			attribute.Bool("bad", false),
			attribute.Int64("int.max", math.MaxInt64),
			attribute.Int64("int.min", math.MinInt64),
			attribute.Int64("http.response.status_code", 503),
			attribute.Float64("ratio", 0.25),
			attribute.Float64("float.big", 1e300),
			attribute.Float64("float.neg", -3.5),
			attribute.StringSlice("strs", []string{"a", "", "c"}),
			attribute.BoolSlice("bools", []bool{true, false}),
			attribute.Int64Slice("ints", []int64{1, -2, math.MaxInt64}),
			attribute.Float64Slice("floats", []float64{1.5, -0.5, 2}),
			attribute.String("late", "set after start"),
		},
		Events: []sdktrace.Event{
			{Name: "cache.miss", Time: at(10 * time.Millisecond), Attributes: []attribute.KeyValue{
				attribute.String("cache.key", "user:42"), attribute.Int64("attempt", 2)}},
			{Name: "no.attrs", Time: at(20 * time.Millisecond)},
			{Name: "exception", Time: at(30 * time.Millisecond), Attributes: []attribute.KeyValue{
				attribute.Bool("retryable", true),
				attribute.String("exception.type", "*errors.errorString"),
				attribute.String("exception.message", "upstream timeout")}},
		},
		Links: []sdktrace.Link{
			{
				SpanContext: sc(trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
					trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}, trace.FlagsSampled,
					"rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
				Attributes: []attribute.KeyValue{attribute.String("link.kind", "follows"), attribute.Int64("link.n", 1)},
			},
			{SpanContext: sc(trace.TraceID{0xff, 1}, trace.SpanID{0xee, 2}, 0, "")},
			{SpanContext: sc(trace.TraceID{0x11}, trace.SpanID{0x22}, trace.FlagsSampled, ""),
				Attributes: []attribute.KeyValue{attribute.Float64("added", 1)}},
		},
		Status:               sdktrace.Status{Code: codes.Error, Description: "upstream failed: 503"},
		InstrumentationScope: fixtureScope,
	})

	// The IDs are parsed, though not used.
	b := readTestdata(t, "full.json")
	_, sp, _, err := parseSpanJSON(b, nil, len(b))
	if err != nil {
		t.Fatal(err)
	}
	if hexs(sp.TraceID) != "4bf92f3577b34da6a3ce929d0e0e4736" || hexs(sp.SpanID) != "00f067aa0ba902b7" ||
		hexs(sp.ParentSpanID) != "53995c3f42cd8ad8" || sp.TraceState != "sonde=on,vendor=abc" || sp.Flags != 1 {
		t.Errorf("ids: %x %x %x %q %d", sp.TraceID, sp.SpanID, sp.ParentSpanID, sp.TraceState, sp.Flags)
	}
}

func hexs(b []byte) string { return hex.EncodeToString(b) }

func TestDecodeSpanJSONNoIDs(t *testing.T) {
	// The agent wrote no span context: IDs are "", kind and parent missing.
	got := decodeWhole(t, "noids.json")
	compare(t, got, tracetest.SpanStub{
		Name: "noids", SpanKind: trace.SpanKindInternal,
		StartTime: t0, EndTime: at(time.Millisecond),
		Attributes:           []attribute.KeyValue{attribute.String("k", "v")},
		Status:               sdktrace.Status{Code: codes.Ok, Description: "ignored for ok"},
		InstrumentationScope: fixtureScope,
	})
	b := readTestdata(t, "noids.json")
	_, sp, _, _ := parseSpanJSON(b, nil, len(b))
	if sp.TraceID != nil || sp.SpanID != nil || sp.ParentSpanID != nil {
		t.Errorf("ids: %x %x %x", sp.TraceID, sp.SpanID, sp.ParentSpanID)
	}
}

func TestDecodeSpanJSONLimits(t *testing.T) {
	got := decodeWhole(t, "limits.json")
	if got.DroppedAttributes != 12 || got.DroppedEvents != 1 || got.DroppedLinks != 2 || len(got.Attributes) != 3 {
		t.Errorf("dropped attrs/events/links = %d/%d/%d, %d attrs", got.DroppedAttributes, got.DroppedEvents, got.DroppedLinks, len(got.Attributes))
	}
	if len(got.Events) != 2 || got.Events[1].DroppedAttributeCount != 2 || got.Events[0].DroppedAttributeCount != 0 {
		t.Errorf("events %+v", got.Events)
	}
	if len(got.Links) != 1 || got.Links[0].DroppedAttributeCount != 1 || got.Links[0].Attributes != nil {
		t.Errorf("links %+v", got.Links)
	}
}

func TestDecodeSpanJSONLenient(t *testing.T) {
	got := decodeWhole(t, "lenient.json")
	compare(t, got, tracetest.SpanStub{
		Name: "lenient", SpanKind: trace.SpanKindClient,
		StartTime: time.Unix(0, 1700000000000000001), EndTime: time.Unix(0, 1700000000000000002),
		Attributes: []attribute.KeyValue{
			attribute.Int64("int.num", 42),
			attribute.Int64("int.str", -7),
			attribute.Int64("int.float", 3),
			attribute.Float64("dbl.str", 2.5),
			attribute.Float64("dbl.inf", math.Inf(-1)),
			attribute.Float64("dbl.nan", math.NaN()),
			attribute.String("bytes", "AQID"),
			attribute.String("kv", `{"a":1,"b":["x<y",false],"c":"/w==","d":null}`),
			attribute.String("mixed", `[1,1.5]`),
			attribute.String("nested", `[[1]]`),
			attribute.StringSlice("empty.arr", nil),
			attribute.Bool("bool", true),
		},
		DroppedAttributes: 5, DroppedEvents: 2, DroppedLinks: 3,
		Events: []sdktrace.Event{{Name: "e", Time: time.Unix(0, 1700000000000000003), DroppedAttributeCount: 1}},
		Links: []sdktrace.Link{
			{
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
					TraceID:    trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
					SpanID:     trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
					TraceFlags: trace.FlagsSampled, Remote: true, // flags 0x301
				}),
				Attributes: []attribute.KeyValue{attribute.String("l", "v")},
			},
			{}, // IDs not hex
		},
		Status: sdktrace.Status{Code: codes.Error, Description: "m"},
		InstrumentationScope: instrumentation.Scope{Name: "lenient", Version: "0.1", SchemaURL: "https://schema/lenient",
			Attributes: attribute.NewSet(attribute.Int64("scope.attr", 7))},
	})
}

func TestDecodeSpanJSONBig(t *testing.T) {
	// 300 attributes and 50 events: 40 KiB, so the BPF side copies it whole.
	b := readTestdata(t, "big.json")
	if len(b) > bpfWhole {
		t.Fatalf("big.json is %d bytes", len(b))
	}
	got := decodeWhole(t, "big.json")
	if len(got.Attributes) != 300 || len(got.Events) != 50 || got.Status.Code != codes.Error {
		t.Fatalf("%d attributes, %d events, status %v", len(got.Attributes), len(got.Events), got.Status)
	}
	if a := got.Attributes[299]; a.Key != "attr.299" || len(a.Value.AsStringSlice()) != 2 {
		t.Errorf("last attribute %v", a)
	}
	if e := got.Events[49]; e.Name != "event-49" || !e.Time.Equal(at(50*time.Millisecond)) ||
		e.Attributes[len(e.Attributes)-1] != attribute.Int64("ev.index", 49) {
		t.Errorf("last event %+v", e)
	}
}

// TestDecodeSpanJSONTruncated cuts the 204 KiB span as the BPF side does.
// The cut falls in the attributes.
func TestDecodeSpanJSONTruncated(t *testing.T) {
	b := readTestdata(t, "huge.json")
	whole := decodeWhole(t, "huge.json")
	head, tail := bpfCopy(b)
	if len(tail) == 0 {
		t.Fatalf("huge.json is only %d bytes", len(b))
	}
	var got tracetest.SpanStub
	truncated, err := decodeSpanJSON(head, tail, len(b), &got)
	if err != nil || !truncated {
		t.Fatalf("truncated=%v err=%v", truncated, err)
	}
	n := len(got.Attributes) - 1
	if n < 200 || n >= len(whole.Attributes) || got.Attributes[n] != truncatedKey.Bool(true) {
		t.Fatalf("%d attributes, last %v", len(got.Attributes), got.Attributes[len(got.Attributes)-1])
	}
	if !reflect.DeepEqual(got.Attributes[:n], whole.Attributes[:n]) {
		t.Error("attributes are not a prefix of the whole span's")
	}
	if got.Name != "big" || got.SpanKind != trace.SpanKindClient || !got.StartTime.Equal(t0) ||
		!got.EndTime.Equal(at(2*time.Second)) || got.Status != whole.Status ||
		!reflect.DeepEqual(got.InstrumentationScope, whole.InstrumentationScope) {
		t.Errorf("got %s %v %v..%v %v %+v", got.Name, got.SpanKind, got.StartTime, got.EndTime, got.Status, got.InstrumentationScope)
	}
	// One attribute was cut, and the tail shows the last two events.
	if got.DroppedAttributes != 1 || got.DroppedEvents != 2 || len(got.Events) != 0 {
		t.Errorf("dropped attributes %d, events %d; %d events", got.DroppedAttributes, got.DroppedEvents, len(got.Events))
	}
	_, sp, _, _ := parseSpanJSON(head, tail, len(b))
	if hexs(sp.ParentSpanID) != "53995c3f42cd8ad8" {
		t.Errorf("parent %x", sp.ParentSpanID)
	}

	// A longer head that cuts the events keeps every attribute and a prefix
	// of the events.
	got = tracetest.SpanStub{}
	if truncated, err := decodeSpanJSON(b[:100<<10], tail, len(b), &got); err != nil || !truncated {
		t.Fatalf("truncated=%v err=%v", truncated, err)
	}
	if len(got.Attributes) != 301 || len(got.Events) == 0 || len(got.Events) >= 50 ||
		!reflect.DeepEqual(got.Events, whole.Events[:len(got.Events)]) || got.DroppedEvents != 2 {
		t.Errorf("%d attributes, %d events, dropped %d", len(got.Attributes), len(got.Events), got.DroppedEvents)
	}
}

// TestDecodeSpanJSONEveryCut cuts the small spans at every byte, with a tail
// of the last 300 bytes (or fewer, so head and tail never overlap), and
// checks what survives: prefixes of the lists, dropped counts never above
// the truth, and the last fields whenever the tail holds them.
func TestDecodeSpanJSONEveryCut(t *testing.T) {
	for _, name := range []string{"full.json", "limits.json", "noids.json", "lenient.json"} {
		b := readTestdata(t, name)
		whole := decodeWhole(t, name)
		statusAt := bytes.LastIndex(b, []byte(`,"status":`))
		for cut := range len(b) {
			tail := b[max(cut, len(b)-300):]
			var got tracetest.SpanStub
			truncated, err := decodeSpanJSON(b[:cut], tail, len(b), &got)
			if err != nil || !truncated {
				t.Fatalf("%s cut %d: truncated=%v err=%v", name, cut, truncated, err)
			}
			attrs := got.Attributes[:len(got.Attributes)-1]
			if !isPrefix(attrs, whole.Attributes) || !isPrefix(got.Events, whole.Events) || !isPrefix(got.Links, whole.Links) {
				t.Fatalf("%s cut %d: not a prefix: %d/%d attributes, %d/%d events, %d/%d links", name, cut,
					len(attrs), len(whole.Attributes), len(got.Events), len(whole.Events), len(got.Links), len(whole.Links))
			}
			if len(attrs)+got.DroppedAttributes > len(whole.Attributes)+whole.DroppedAttributes ||
				len(got.Events)+got.DroppedEvents > len(whole.Events)+whole.DroppedEvents ||
				len(got.Links)+got.DroppedLinks > len(whole.Links)+whole.DroppedLinks {
				t.Fatalf("%s cut %d: dropped %d/%d/%d overcounts", name, cut, got.DroppedAttributes, got.DroppedEvents, got.DroppedLinks)
			}
			if cut > len(b)/2 && got.Name != whole.Name {
				t.Fatalf("%s cut %d: name %q", name, cut, got.Name)
			}
			if statusAt >= len(b)-len(tail) && (got.Status != whole.Status ||
				!got.StartTime.Equal(whole.StartTime) || !got.EndTime.Equal(whole.EndTime) ||
				got.InstrumentationScope.SchemaURL != whole.InstrumentationScope.SchemaURL) {
				t.Fatalf("%s cut %d: tail fields %v %v %v %q", name, cut, got.Status, got.StartTime, got.EndTime, got.InstrumentationScope.SchemaURL)
			}
		}
	}
}

func isPrefix[T any](got, whole []T) bool {
	return len(got) <= len(whole) && reflect.DeepEqual(got, whole[:len(got)]) || len(got) == 0
}

func TestDecodeSpanJSONErrors(t *testing.T) {
	for _, in := range []string{``, `nul`, `{}`, `{"resourceSpans":[{"scopeSpans":[{}]}]}`, `[1]`,
		`{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"server"}]}]}]}`} {
		var s tracetest.SpanStub
		if _, err := decodeSpanJSON([]byte(in), nil, len(in), &s); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
	var s tracetest.SpanStub
	if _, err := decodeSpanJSON(nil, nil, -1, &s); err == nil {
		t.Error("negative total: no error")
	}
	// Malformed before the cut is an error; a cut alone is not.
	in := []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x","kind":{]`)
	if truncated, err := decodeSpanJSON(in, nil, 1000, &s); err == nil || !truncated || s.Name != "x" {
		t.Errorf("malformed head: truncated=%v err=%v name=%q", truncated, err, s.Name)
	}
	if truncated, err := decodeSpanJSON(in[:len(in)-2], nil, 1000, &s); err != nil || !truncated {
		t.Errorf("cut head: truncated=%v err=%v", truncated, err)
	}
}

// FuzzDecodeSpanJSON checks that no input panics, and that truncated is
// reported exactly when the head is shorter than total. The seeds are the
// testdata, whole when small, and cut at random points into a head and a
// tail. Heads stay under 16 KiB, so the fuzzer keeps its speed.
func FuzzDecodeSpanJSON(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.json")
	rnd := rand.New(rand.NewPCG(1, 2))
	for _, name := range files {
		b := readTestdata(f, filepath.Base(name))
		if len(b) <= 16<<10 {
			f.Add(b, []byte(nil), len(b))
		}
		for range 8 {
			cut := rnd.IntN(min(len(b), 16<<10))
			tail := b[len(b)-rnd.IntN(min(len(b)-cut, bpfTail)+1):]
			f.Add(b[:cut], tail, len(b))
		}
	}
	f.Fuzz(func(t *testing.T, head, tail []byte, total int) {
		var s tracetest.SpanStub
		truncated, err := decodeSpanJSON(head, tail, total, &s)
		if total >= 0 && truncated != (len(head) < total) {
			t.Fatalf("truncated=%v with head %d of %d (err %v)", truncated, len(head), total, err)
		}
		if s.DroppedAttributes < 0 || s.DroppedEvents < 0 || s.DroppedLinks < 0 {
			t.Fatalf("negative dropped counts %+v", s)
		}
	})
}
