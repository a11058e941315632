package pipeline_test

import (
	"encoding/binary"
	"errors"
	"structs"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/pipeline"
)

const kindHTTP = 1

// httpEvent stands for a bpf2go-generated event struct.
type httpEvent struct {
	_        structs.HostLayout
	Kind     uint32
	Status   uint32
	Start    uint64
	End      uint64
	TraceID  [16]byte
	SpanID   [8]byte
	ParentID [8]byte
	Method   [16]byte
}

// bytes encodes ev as BPF would write it.
func (ev httpEvent) bytes() []byte {
	b, err := binary.Append(nil, binary.LittleEndian, &ev)
	if err != nil {
		panic(err)
	}
	return b
}

// decodeHTTP is a decoder in the style probes are expected to write.
func decodeHTTP(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	var ev httpEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	method := pipeline.CString(ev.Method[:])
	s := tracetest.SpanStub{
		Name: method,
		// No sampled flag: the pipeline must set it.
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: pipeline.TraceID(ev.TraceID),
			SpanID:  pipeline.SpanID(ev.SpanID),
		}),
		Parent:     pipeline.SpanContext(ev.TraceID, ev.ParentID),
		SpanKind:   trace.SpanKindServer,
		StartTime:  clk.Time(ev.Start),
		EndTime:    clk.Time(ev.End),
		Attributes: []attribute.KeyValue{attribute.String("http.request.method", method), attribute.Int("http.response.status_code", int(ev.Status))},
	}
	if ev.Status >= 500 {
		s.Status = sdktrace.Status{Code: codes.Error, Description: "server error"}
	}
	return s, nil
}

// monoNow is what bpf_ktime_get_ns would return now.
func monoNow(t testing.TB) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatalf("reading CLOCK_MONOTONIC: %v", err)
	}
	return uint64(ts.Nano())
}

// event returns a valid record whose span has ID n.
func event(t testing.TB, n byte) []byte {
	now := monoNow(t)
	return httpEvent{
		Kind: kindHTTP, Status: 200, Start: now, End: now + uint64(time.Millisecond),
		TraceID: [16]byte{15: n}, SpanID: [8]byte{7: n}, Method: [16]byte{'G', 'E', 'T'},
	}.bytes()
}

var errDown = errors.New("collector down")
