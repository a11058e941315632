package reliability

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// counter is an OTLP/HTTP trace receiver that keeps only counts of spans
// by url.path, so that the spans it took do not weigh on the heap the
// tests measure.
type counter struct {
	addr string
	mu   sync.Mutex
	n    map[string]int
}

func startCounter(t *testing.T) *counter {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{addr: l.Addr().String(), n: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(body)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		rss := req.Traces().ResourceSpans()
		for i := range rss.Len() {
			sss := rss.At(i).ScopeSpans()
			for j := range sss.Len() {
				spans := sss.At(j).Spans()
				for k := range spans.Len() {
					path, _ := spans.At(k).Attributes().Get("url.path")
					c.n[path.AsString()]++
					c.n[""]++
				}
			}
		}
		c.mu.Unlock()
		out, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(out)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return c
}

// Endpoint is the receiver's base URL.
func (c *counter) Endpoint() string { return "http://" + c.addr }

// Env points the OTLP exporter at the receiver.
func (c *counter) Env() []string {
	return []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT=" + c.Endpoint()}
}

// count is the number of spans received with url.path path ("" for all).
func (c *counter) count(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[path]
}

// wait waits until at least n spans with url.path path arrived.
func (c *counter) wait(t *testing.T, path string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for c.count(path) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d spans of %q arrived within %v, want %d", c.count(path), path, timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
