package otlptest

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
)

// maxBody bounds one HTTP export request.
const maxBody = 64 << 20

// Receiver collects the spans that OTLP exporters send to it over HTTP
// (protobuf or JSON, optionally gzip) and gRPC.
type Receiver struct {
	t        testing.TB
	httpAddr string
	grpcAddr string
	httpSrv  *http.Server
	grpcSrv  *grpc.Server

	mu      sync.Mutex
	spans   []Span
	changed chan struct{} // closed and replaced whenever spans grows
}

// Option changes where a receiver listens.
type Option func(*options)

type options struct{ httpAddr, grpcAddr string }

// HTTPAddr makes the HTTP receiver listen on addr ("127.0.0.1:4318", the
// OTLP default) instead of a port the kernel chooses.
func HTTPAddr(addr string) Option { return func(o *options) { o.httpAddr = addr } }

// GRPCAddr makes the gRPC receiver listen on addr ("127.0.0.1:4317").
func GRPCAddr(addr string) Option { return func(o *options) { o.grpcAddr = addr } }

// fixedPortWait is how long Start waits for a fixed port that is in use:
// the tests of another package may hold it for a moment.
const fixedPortWait = time.Minute

// Start starts a receiver on loopback ports chosen by the kernel, or the
// ones the options name. It is stopped when the test and its subtests
// finish.
func Start(t testing.TB, opts ...Option) *Receiver {
	t.Helper()
	o := options{httpAddr: "127.0.0.1:0", grpcAddr: "127.0.0.1:0"}
	for _, opt := range opts {
		opt(&o)
	}
	hl, err := listen(o.httpAddr)
	if err != nil {
		t.Fatalf("otlptest: listening for HTTP: %v", err)
	}
	gl, err := listen(o.grpcAddr)
	if err != nil {
		hl.Close()
		t.Fatalf("otlptest: listening for gRPC: %v", err)
	}
	r := &Receiver{
		t:        t,
		httpAddr: hl.Addr().String(),
		grpcAddr: gl.Addr().String(),
		changed:  make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.serveHTTP)
	// Sonde's own metrics go to the same endpoint; accepted and dropped.
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		w.Header().Set("Content-Type", req.Header.Get("Content-Type"))
	})
	r.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	r.grpcSrv = grpc.NewServer()
	ptraceotlp.RegisterGRPCServer(r.grpcSrv, &grpcTraces{r: r})

	go r.httpSrv.Serve(hl)
	go r.grpcSrv.Serve(gl)
	t.Cleanup(r.stop)
	return r
}

// listen listens on addr; a fixed port in use is retried for a while.
func listen(addr string) (net.Listener, error) {
	deadline := time.Now().Add(fixedPortWait)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil || strings.HasSuffix(addr, ":0") || time.Now().After(deadline) || !errors.Is(err, syscall.EADDRINUSE) {
			return l, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Endpoint is the base URL of the HTTP receiver, "http://127.0.0.1:PORT",
// for OTEL_EXPORTER_OTLP_ENDPOINT with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf
// (exporters append /v1/traces).
func (r *Receiver) Endpoint() string { return "http://" + r.httpAddr }

// GRPCEndpoint is the URL of the gRPC receiver, "http://127.0.0.1:PORT"
// (plaintext), for OTEL_EXPORTER_OTLP_ENDPOINT with
// OTEL_EXPORTER_OTLP_PROTOCOL=grpc.
func (r *Receiver) GRPCEndpoint() string { return "http://" + r.grpcAddr }

// Env returns the environment, as KEY=value entries, that points an
// autoexport-configured program at the HTTP receiver.
func (r *Receiver) Env() []string {
	return []string{
		"OTEL_TRACES_EXPORTER=otlp",
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + r.Endpoint(),
	}
}

// Spans returns a copy of every span received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// WaitSpans waits until at least n spans have arrived and returns them all.
// When timeout passes first, it fails the test, listing what did arrive.
func (r *Receiver) WaitSpans(t testing.TB, n int, timeout time.Duration) []Span {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		if len(r.spans) >= n {
			spans := append([]Span(nil), r.spans...)
			r.mu.Unlock()
			return spans
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			got := r.Spans()
			names := make([]string, len(got))
			for i, s := range got {
				names[i] = fmt.Sprintf("%s(%s)", s.Name, s.Scope)
			}
			t.Fatalf("otlptest: got %d spans after %v, want %d: [%s]", len(got), timeout, n, strings.Join(names, ", "))
			return nil
		}
	}
}

// add records every span of td.
func (r *Receiver) add(td ptrace.Traces) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.spans = flatten(r.spans, td)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *Receiver) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.httpSrv.Shutdown(ctx); err != nil {
		r.httpSrv.Close()
	}
	done := make(chan struct{})
	go func() {
		r.grpcSrv.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		r.grpcSrv.Stop()
		<-done
	}
}

// serveHTTP handles POST /v1/traces as the OTLP/HTTP specification says.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := readBody(req)
	if err != nil {
		r.t.Errorf("otlptest: reading request: %v", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	ereq := ptraceotlp.NewExportRequest()
	resp := ptraceotlp.NewExportResponse()
	var out []byte
	switch ct {
	case "application/x-protobuf":
		err = ereq.UnmarshalProto(body)
		if err == nil {
			out, err = resp.MarshalProto()
		}
	case "application/json":
		err = ereq.UnmarshalJSON(body)
		if err == nil {
			out, err = resp.MarshalJSON()
		}
	default:
		r.t.Errorf("otlptest: unsupported content type %q", ct)
		http.Error(w, "unsupported content type", http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		r.t.Errorf("otlptest: decoding %s request: %v", ct, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(ereq.Traces())
	w.Header().Set("Content-Type", ct)
	w.Write(out)
}

func readBody(req *http.Request) ([]byte, error) {
	var rd io.Reader = http.MaxBytesReader(nil, req.Body, maxBody)
	switch enc := req.Header.Get("Content-Encoding"); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(rd)
		if err != nil {
			return nil, fmt.Errorf("opening gzip body: %w", err)
		}
		defer zr.Close()
		rd = io.LimitReader(zr, maxBody)
	default:
		return nil, errors.New("unsupported content encoding " + enc)
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	return body, nil
}

// grpcTraces is the OTLP/gRPC trace service.
type grpcTraces struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

// Export records the spans of one request.
func (g *grpcTraces) Export(_ context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	g.r.add(req.Traces())
	return ptraceotlp.NewExportResponse(), nil
}
