package sondesdk

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/sdk"
)

// The round trip: the sdk module's TestGolden makes the records in
// sdk/testdata/wire through its public API and checks they do not change;
// here each is decoded and checked field by field against the same cases
// (sdk/golden_test.go), which both files spell out.
var goldenDir = filepath.Join("..", "..", "sdk", "testdata", "wire")

func golden(t testing.TB, name string) []byte {
	t.Helper()
	if _, err := os.Stat(filepath.Join("..", "..", "sdk", "go.mod")); err != nil {
		t.Skip("the sdk module is not beside this one")
	}
	b, err := os.ReadFile(filepath.Join(goldenDir, name+".bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	t0 = time.Unix(1700000000, 123456789)
	t1 = t0.Add(1500 * time.Microsecond)
	t2 = t0.Add(42 * time.Millisecond)
)

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

func linkA() sdktrace.Link {
	ts, err := trace.ParseTraceState("vendor=x1,other=y2")
	if err != nil {
		panic(err)
	}
	return sdktrace.Link{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10},
			SpanID:     trace.SpanID{0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8},
			TraceFlags: trace.FlagsSampled,
			TraceState: ts,
		}),
		Attributes: []attribute.KeyValue{attribute.String("link.kind", "batch")},
	}
}

func linkB() sdktrace.Link {
	return sdktrace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00},
		SpanID:  trace.SpanID{0x01, 0, 0, 0, 0, 0, 0, 0x02},
		Remote:  true,
	})}
}

func exception(typ, msg string, extra ...attribute.KeyValue) []attribute.KeyValue {
	return append([]attribute.KeyValue{
		attribute.String("exception.type", typ), attribute.String("exception.message", msg),
	}, extra...)
}

// equal compares stubs with times by instant.
func equal(t *testing.T, got, want tracetest.SpanStub) {
	t.Helper()
	norm := func(s *tracetest.SpanStub) {
		s.StartTime, s.EndTime = s.StartTime.UTC(), s.EndTime.UTC()
		for i := range s.Events {
			s.Events[i].Time = s.Events[i].Time.UTC()
		}
	}
	norm(&got)
	norm(&want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
}

func TestDecodeSpanGolden(t *testing.T) {
	ids := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{7}, SpanID: trace.SpanID{7}})
	full := allTypes()
	full[1] = attribute.Int64("i", 7) // set again after Start: replaced in place
	for name, want := range map[string]tracetest.SpanStub{
		"span_full": {
			Name:       "AllTodos",
			SpanKind:   trace.SpanKindServer,
			StartTime:  t0,
			EndTime:    t2,
			Attributes: full,
			Events: []sdktrace.Event{
				{Name: "cache.miss", Time: t1, Attributes: []attribute.KeyValue{attribute.String("key", "user:42")}},
				{Name: "exception", Time: t1, Attributes: exception("*errors.errorString", "connection refused")},
			},
			Links:  []sdktrace.Link{linkA(), linkB()},
			Status: sdktrace.Status{Code: codes.Error, Description: "db down"},
			InstrumentationScope: instrumentation.Scope{
				Name: "github.com/example/todo", Version: "1.2.3", SchemaURL: "https://opentelemetry.io/schemas/1.24.0",
			},
		},
		"span_minimal": {
			Name: "tick", SpanKind: trace.SpanKindInternal, StartTime: t0, EndTime: t1,
			InstrumentationScope: instrumentation.Scope{Name: "min"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			// The IDs and parent come from the BPF event: kept.
			got := tracetest.SpanStub{SpanContext: ids, Parent: ids}
			if err := DecodeSpan(golden(t, name), &got); err != nil {
				t.Fatal(err)
			}
			want.SpanContext, want.Parent = ids, ids
			equal(t, got, want)
		})
	}
}

func TestDecodeSpanTruncated(t *testing.T) {
	var s tracetest.SpanStub
	b := golden(t, "span_truncated")
	if err := DecodeSpan(b, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Attributes)+s.DroppedAttributes != 300 || len(s.Events)+s.DroppedEvents != 50 || len(s.Links)+s.DroppedLinks != 2 {
		t.Fatalf("kept+dropped: attributes %d+%d, events %d+%d, links %d+%d; want 300, 50, 2",
			len(s.Attributes), s.DroppedAttributes, len(s.Events), s.DroppedEvents, len(s.Links), s.DroppedLinks)
	}
	if s.DroppedAttributes == 0 || s.DroppedEvents == 0 || s.Name != "bulk" || s.SpanKind != trace.SpanKindClient {
		t.Errorf("%d bytes: dropped %d attributes, %d events; name %q", len(b), s.DroppedAttributes, s.DroppedEvents, s.Name)
	}
	v := strings.Repeat("v", 250)
	for i, kv := range s.Attributes { // the first ones, in order
		if want := attribute.String(fmt.Sprintf("attr.%03d", i), v); kv != want {
			t.Fatalf("attribute %d: %v", i, kv)
		}
	}
	t.Logf("%d bytes: %d attributes, %d events, %d links kept", len(b), len(s.Attributes), len(s.Events), len(s.Links))
}

func TestDecodeAnnotationGolden(t *testing.T) {
	base := func() tracetest.SpanStub {
		return tracetest.SpanStub{
			Name:       "GET /todos",
			Attributes: []attribute.KeyValue{attribute.String("s", "old"), attribute.Int("http.status_code", 200)},
			Events:     []sdktrace.Event{{Name: "first", Time: t0}},
		}
	}
	with := func(f func(*tracetest.SpanStub)) tracetest.SpanStub { s := base(); f(&s); return s }
	attrs := append([]attribute.KeyValue{attribute.String("s", "héllo"), attribute.Int("http.status_code", 200)}, allTypes()...)
	attrs = append(attrs[:2], append(attrs[2:5], attrs[6:]...)...) // s replaced in place, not appended
	for name, want := range map[string]tracetest.SpanStub{
		"annotation_set_attributes": with(func(s *tracetest.SpanStub) { s.Attributes = attrs }),
		"annotation_add_event": with(func(s *tracetest.SpanStub) {
			s.Events = append(s.Events, sdktrace.Event{Name: "cache.miss", Time: t1, Attributes: []attribute.KeyValue{
				attribute.String("key", "user:42"), attribute.Int("size", 3),
			}})
		}),
		"annotation_record_error": with(func(s *tracetest.SpanStub) {
			s.Events = append(s.Events, sdktrace.Event{Name: "exception", Time: t1,
				Attributes: exception("*errors.errorString", "connection refused", attribute.Bool("retry", true))})
		}),
		"annotation_set_status": with(func(s *tracetest.SpanStub) {
			s.Status = sdktrace.Status{Code: codes.Error, Description: "payment declined"}
		}),
		"annotation_set_name": with(func(s *tracetest.SpanStub) { s.Name = "GET /todos/{id}" }),
	} {
		t.Run(name, func(t *testing.T) {
			b := golden(t, name)
			change, err := DecodeAnnotation(b)
			if err != nil {
				t.Fatal(err)
			}
			for i := range b { // the change keeps no reference to the record
				b[i] = 0
			}
			got := base()
			change(&got)
			equal(t, got, want)
		})
	}
}

func TestStatusRules(t *testing.T) {
	enc := func(code codes.Code, desc string) []byte {
		return append([]byte{wireVersion, recSetStatus, byte(code), byte(len(desc)), 0}, desc...)
	}
	for _, c := range []struct {
		had  sdktrace.Status
		code codes.Code
		desc string
		want sdktrace.Status
	}{
		{sdktrace.Status{}, codes.Error, "e", sdktrace.Status{Code: codes.Error, Description: "e"}},
		{sdktrace.Status{Code: codes.Error, Description: "a"}, codes.Error, "b", sdktrace.Status{Code: codes.Error, Description: "b"}},
		{sdktrace.Status{Code: codes.Error, Description: "a"}, codes.Unset, "", sdktrace.Status{Code: codes.Error, Description: "a"}},
		{sdktrace.Status{Code: codes.Error, Description: "a"}, codes.Ok, "x", sdktrace.Status{Code: codes.Ok}},
		{sdktrace.Status{Code: codes.Ok}, codes.Error, "late", sdktrace.Status{Code: codes.Ok}},
	} {
		change, err := DecodeAnnotation(enc(c.code, c.desc))
		if err != nil {
			t.Fatal(err)
		}
		s := tracetest.SpanStub{Status: c.had}
		change(&s)
		if s.Status != c.want {
			t.Errorf("%v then SetStatus(%v, %q): %v, want %v", c.had, c.code, c.desc, s.Status, c.want)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":             nil,
		"version":           {2, recSetName, 0, 0},
		"type":              {wireVersion, 9},
		"span as annotaion": golden(t, "span_minimal"),
		"trailing bytes":    {wireVersion, recSetName, 0, 0, 0},
		"forged count":      {wireVersion, recSetAttributes, 0, 0, 0, 0, 0xff, 0xff, 1, 0, 'k', valBool, 1},
		"forged slice":      {wireVersion, recSetAttributes, 0, 0, 0, 0, 1, 0, 1, 0, 'k', valStringSlice, 0xff, 0xff, 0, 0},
		"attribute type":    {wireVersion, recSetAttributes, 0, 0, 0, 0, 1, 0, 1, 0, 'k', 42, 1},
		"status code":       {wireVersion, recSetStatus, 3, 0, 0},
		"string length":     {wireVersion, recSetName, 5, 0, 'a'},
		"too large":         append([]byte{wireVersion, recSetName, 0xff, 0xff}, make([]byte, maxRecord)...),
	} {
		if _, err := DecodeAnnotation(b); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// Every cut of every record fails cleanly, and leaves the stub alone.
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Skip(err)
	}
	for _, e := range entries {
		b := golden(t, strings.TrimSuffix(e.Name(), ".bin"))
		step := 1
		if len(b) > 4096 {
			step = 61 // every cut of the 64 KiB record would take seconds
		}
		for n := 0; n < len(b); n += step {
			s := tracetest.SpanStub{Name: "kept"}
			if strings.HasPrefix(e.Name(), "span") {
				if err := DecodeSpan(b[:n], &s); err == nil || s.Name != "kept" {
					t.Fatalf("%s cut at %d: err %v, name %q", e.Name(), n, err, s.Name)
				}
			} else if _, err := DecodeAnnotation(b[:n]); err == nil {
				t.Fatalf("%s cut at %d: no error", e.Name(), n)
			}
		}
	}
}

func TestDecodeForgedCountAllocs(t *testing.T) {
	// Counts claim 65535 attributes, and slices of 65535 strings, in a
	// record with room for a few: nothing is sized by the claim.
	for _, b := range [][]byte{
		{wireVersion, recSetAttributes, 0, 0, 0, 0, 0xff, 0xff, 1, 0, 'k', valBool, 1},
		{wireVersion, recSetAttributes, 0, 0, 0, 0, 1, 0, 1, 0, 'k', valStringSlice, 0xff, 0xff, 0, 0},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := DecodeAnnotation(b); err == nil {
				t.Fatal("no error")
			}
		}
		runtime.ReadMemStats(&after)
		if per := (after.TotalAlloc - before.TotalAlloc) / 100; per > 256 {
			t.Errorf("forged count %x: %d bytes allocated per decode", b, per)
		}
	}
}

func TestDecodeInvalidUTF8(t *testing.T) {
	change, err := DecodeAnnotation([]byte{wireVersion, recSetName, 3, 0, 'a', 0xff, 0xfe})
	if err != nil {
		t.Fatal(err)
	}
	var s tracetest.SpanStub
	change(&s)
	if s.Name != "a\uFFFD" {
		t.Errorf("name %q", s.Name)
	}
}

// TestSDKWithAgentOtel uses the sdk built with this module's (newest) otel,
// whose trace.Span has more methods than the sdk's minimum version.
func TestSDKWithAgentOtel(t *testing.T) {
	ctx, s := sdk.TracerProvider().Tracer("t").Start(context.Background(), "op")
	s.AddLink(trace.Link{})
	s.End()
	if s.IsRecording() || ctx != context.Background() {
		t.Error("unattached sdk span records")
	}
	if sdk.SpanFromContext(ctx).IsRecording() {
		t.Error("unattached SpanFromContext records")
	}
}

func seeds(f *testing.F, prefix string) {
	entries, _ := os.ReadDir(goldenDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			// Not the 64 KiB one: minimizing an input that large stalls the fuzzer.
			b, err := os.ReadFile(filepath.Join(goldenDir, e.Name()))
			if err == nil && len(b) <= 4096 {
				f.Add(b)
			}
		}
	}
	f.Add([]byte{wireVersion, recSetName, 0, 0})
}

func validStub(t *testing.T, s *tracetest.SpanStub) {
	check := func(what, v string) {
		if !utf8.ValidString(v) {
			t.Fatalf("%s %q is not valid UTF-8", what, v)
		}
	}
	attrs := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			check("key", string(kv.Key))
			if kv.Value.Type() == attribute.STRING {
				check("value", kv.Value.AsString())
			}
		}
	}
	check("name", s.Name)
	check("status", s.Status.Description)
	attrs(s.Attributes)
	for _, e := range s.Events {
		check("event", e.Name)
		attrs(e.Attributes)
	}
}

func FuzzDecodeSpan(f *testing.F) {
	seeds(f, "span")
	f.Fuzz(func(t *testing.T, b []byte) {
		var s tracetest.SpanStub
		if DecodeSpan(b, &s) == nil {
			validStub(t, &s)
		}
	})
}

func FuzzDecodeAnnotation(f *testing.F) {
	seeds(f, "annotation")
	f.Fuzz(func(t *testing.T, b []byte) {
		change, err := DecodeAnnotation(b)
		if err != nil {
			return
		}
		s := tracetest.SpanStub{Attributes: []attribute.KeyValue{attribute.Int("a", 1)}}
		change(&s)
		validStub(t, &s)
	})
}
