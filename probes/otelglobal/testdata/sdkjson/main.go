// Command sondegen writes the OTLP/JSON that go.opentelemetry.io/auto/sdk
// passes to (*span).ended, for Sonde's otelglobal decoder test data.
//
//	sondegen full|noids|limits|big|huge OUT.json
//
// Span limits come from the OTEL_* env vars, read by the sdk at init.
// Build it in a scratch module that requires go.opentelemetry.io/auto/sdk
// v1.2.1 and go.opentelemetry.io/otel{,/trace} v1.47.0. Then:
//
//	sondegen full full.json; sondegen noids noids.json
//	OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=3 OTEL_SPAN_EVENT_COUNT_LIMIT=2 OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT=1 \
//	  OTEL_SPAN_LINK_COUNT_LIMIT=1 OTEL_LINK_ATTRIBUTE_COUNT_LIMIT=0 sondegen limits limits.json
//	OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=-1 sondegen big big.json
//	OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT=-1 sondegen huge huge.json
package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"time"
	"unsafe"

	sdk "go.opentelemetry.io/auto/sdk"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

//go:linkname start go.opentelemetry.io/auto/sdk.start
var start func(context.Context, unsafe.Pointer, *trace.SpanContext, *bool, *trace.SpanContext)

//go:linkname ended go.opentelemetry.io/auto/sdk.ended
var ended func([]byte)

var t0 = time.Unix(1700000000, 123456789)

func at(d time.Duration) time.Time { return t0.Add(d) }

func main() {
	mode, out := os.Args[1], os.Args[2]
	var buf []byte
	ended = func(b []byte) { buf = append([]byte(nil), b...) }
	if mode != "noids" {
		// What the agent's hook does: write sc and psc.
		start = func(_ context.Context, _ unsafe.Pointer, psc *trace.SpanContext, _ *bool, sc *trace.SpanContext) {
			ts, _ := trace.ParseTraceState("sonde=on,vendor=abc")
			*sc = trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
				SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
				TraceFlags: trace.FlagsSampled, TraceState: ts,
			})
			*psc = trace.NewSpanContext(trace.SpanContextConfig{
				TraceID:    sc.TraceID(),
				SpanID:     trace.SpanID{0x53, 0x99, 0x5c, 0x3f, 0x42, 0xcd, 0x8a, 0xd8},
				TraceFlags: trace.FlagsSampled, Remote: true,
			})
		}
	}
	tr := sdk.TracerProvider().Tracer("github.com/sonde-go/fixture",
		trace.WithInstrumentationVersion("v1.2.3"),
		trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))
	switch mode {
	case "full", "limits":
		full(tr)
	case "noids":
		_, sp := tr.Start(context.Background(), "noids", trace.WithTimestamp(t0))
		sp.SetAttributes(attribute.String("k", "v"))
		sp.SetStatus(codes.Ok, "ignored for ok")
		sp.End(trace.WithTimestamp(at(time.Millisecond)))
	case "big":
		bigSpan(tr, 300, 50, 3, 40, 40)
	case "huge":
		bigSpan(tr, 300, 50, 8, 600, 250)
	default:
		panic(mode)
	}
	if buf == nil {
		panic("ended not called")
	}
	if err := os.WriteFile(out, buf, 0o644); err != nil {
		panic(err)
	}
	fmt.Println(out, len(buf))
}

func full(tr trace.Tracer) {
	lts, _ := trace.ParseTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	link1 := trace.Link{
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID:    trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c},
			SpanID:     trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31},
			TraceFlags: trace.FlagsSampled, TraceState: lts,
		}),
		Attributes: []attribute.KeyValue{attribute.String("link.kind", "follows"), attribute.Int("link.n", 1)},
	}
	link2 := trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0xff, 1}, SpanID: trace.SpanID{0xee, 2},
	})}
	_, sp := tr.Start(context.Background(), "GET /users/{id}",
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t0),
		trace.WithLinks(link1, link2),
		trace.WithAttributes(
			attribute.String("http.request.method", "GET"),
			attribute.String("unicode", "héllo \"wörld\" \u2603 <tag>&"),
			attribute.Bool("ok", true),
			attribute.Bool("bad", false),
			attribute.Int64("int.max", math.MaxInt64),
			attribute.Int64("int.min", math.MinInt64),
			attribute.Int("http.response.status_code", 503),
			attribute.Float64("ratio", 0.25),
			attribute.Float64("float.big", 1e300),
			attribute.Float64("float.neg", -3.5),
			attribute.StringSlice("strs", []string{"a", "", "c"}),
			attribute.BoolSlice("bools", []bool{true, false}),
			attribute.Int64Slice("ints", []int64{1, -2, math.MaxInt64}),
			attribute.Float64Slice("floats", []float64{1.5, -0.5, 2}),
		))
	sp.SetAttributes(attribute.String("late", "set after start"))
	sp.AddEvent("cache.miss", trace.WithTimestamp(at(10*time.Millisecond)),
		trace.WithAttributes(attribute.String("cache.key", "user:42"), attribute.Int("attempt", 2)))
	sp.AddEvent("no.attrs", trace.WithTimestamp(at(20*time.Millisecond)))
	sp.RecordError(errors.New("upstream timeout"), trace.WithTimestamp(at(30*time.Millisecond)),
		trace.WithAttributes(attribute.Bool("retryable", true)))
	sp.AddLink(trace.Link{SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{0x11}, SpanID: trace.SpanID{0x22}, TraceFlags: trace.FlagsSampled,
	}), Attributes: []attribute.KeyValue{attribute.Float64("added", 1)}})
	sp.SetStatus(codes.Error, "upstream failed: 503")
	sp.End(trace.WithTimestamp(at(1500 * time.Millisecond)))
}

func bigSpan(tr trace.Tracer, nAttr, nEv, evAttrs, valLen, evLen int) {
	_, sp := tr.Start(context.Background(), "big", trace.WithSpanKind(trace.SpanKindClient), trace.WithTimestamp(t0))
	for i := range nAttr {
		switch i % 4 {
		case 0:
			sp.SetAttributes(attribute.String(fmt.Sprintf("attr.%03d", i), strings.Repeat(string(rune('a'+i%26)), valLen)))
		case 1:
			sp.SetAttributes(attribute.Int(fmt.Sprintf("attr.%03d", i), i*1000003))
		case 2:
			sp.SetAttributes(attribute.Float64(fmt.Sprintf("attr.%03d", i), float64(i)+0.5))
		case 3:
			sp.SetAttributes(attribute.StringSlice(fmt.Sprintf("attr.%03d", i), []string{fmt.Sprint(i), strings.Repeat("x", valLen/2)}))
		}
	}
	for i := range nEv {
		var kv []attribute.KeyValue
		for j := range evAttrs {
			kv = append(kv, attribute.String(fmt.Sprintf("ev.%d", j), strings.Repeat("e", evLen)))
		}
		kv = append(kv, attribute.Int("ev.index", i))
		sp.AddEvent(fmt.Sprintf("event-%02d", i), trace.WithTimestamp(at(time.Duration(i+1)*time.Millisecond)), trace.WithAttributes(kv...))
	}
	sp.SetStatus(codes.Error, "big failure")
	sp.End(trace.WithTimestamp(at(2 * time.Second)))
}
