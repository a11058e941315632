package nethttp

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"

	"github.com/sonde-go/auto/internal/pipeline"
)

// BenchmarkAgentServerSpan is the agent's CPU for one server span, from
// the ring buffer record to the OTLP/HTTP request: decode, queue, batch,
// the SDK exporter's conversion and protobuf encoding, the HTTP POST (to
// a local endpoint that reads and discards the body). It is the
// per-span cost behind the bench's "agent µs/span", without the machine's
// noise. The record is a todo GET as the bench sends it.
func BenchmarkAgentServerSpan(b *testing.B) {
	var bodies int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		bodies += n
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer srv.Close()
	exp, err := otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
	if err != nil {
		b.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Config{Exporter: exp, QueueSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	const kind = 7
	p.Register(kind, instrumentation.Scope{Name: "github.com/sonde-go/auto/probes/nethttp"}, decodeServer)

	var ev serverHttpServerEvent
	ev.Hdr.Kind = kind
	ev.Hdr.StartNs, ev.Hdr.EndNs = 1_000_000, 1_250_000
	ev.Hdr.Sc.TraceId = [16]byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	ev.ProtoMajor, ev.ProtoMinor = 1, 1
	copy(ev.Method[:], "GET\x00")
	copy(ev.Path[:], "/todos/7\x00")
	ev.PathLen = 8
	copy(ev.Route[:], "GET /todos/{id}\x00")
	copy(ev.Host[:], "127.0.0.1:8080\x00")
	copy(ev.Remote[:], "127.0.0.1:53412\x00")
	copy(ev.UserAgent[:], "Go-http-client/1.1\x00")
	raw := bytesOf(&ev)

	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := range b.N {
		binary.LittleEndian.PutUint64(ev.Hdr.Sc.SpanId[:], uint64(i)+1)
		p.Handle(raw)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/span")
	if s := p.Stats(); s.Exported != uint64(b.N) {
		b.Fatalf("%d of %d spans exported (%+v)", s.Exported, b.N, s)
	}
	b.ReportMetric(float64(bodies)/float64(b.N), "OTLP-bytes/span")
}

// cpuTime is the process's user and system CPU time in nanoseconds: the
// exporter runs on its own goroutine, so wall time per span understates
// it.
func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}
