package main

import (
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// receiver is an OTLP/HTTP trace receiver that only counts spans, so that
// a long run keeps no memory.
type receiver struct {
	srv   *http.Server
	addr  string
	spans atomic.Int64
	// first is when the first export with spans since MarkFirst arrived
	// (UnixNano; 0: none yet).
	first atomic.Int64
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{addr: ln.Addr().String()}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", r.traces)
	r.srv = &http.Server{Handler: mux}
	go r.srv.Serve(ln)
	return r, nil
}

// Endpoint is the base URL for OTEL_EXPORTER_OTLP_ENDPOINT.
func (r *receiver) Endpoint() string { return "http://" + r.addr }

// Spans is the number of spans received so far.
func (r *receiver) Spans() int64 { return r.spans.Load() }

// MarkFirst makes First report the next export with spans.
func (r *receiver) MarkFirst() { r.first.Store(0) }

// First is when the first export with spans since MarkFirst arrived, and
// whether one did.
func (r *receiver) First() (time.Time, bool) {
	n := r.first.Load()
	return time.Unix(0, n), n != 0
}

func (r *receiver) Close() error { return r.srv.Close() }

func (r *receiver) traces(w http.ResponseWriter, req *http.Request) {
	var body io.Reader = http.MaxBytesReader(w, req.Body, 64<<20)
	if req.Header.Get("Content-Encoding") == "gzip" {
		gz, err := gzip.NewReader(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer gz.Close()
		body = gz
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	msg := ptraceotlp.NewExportRequest()
	if req.Header.Get("Content-Type") == "application/json" {
		err = msg.UnmarshalJSON(b)
	} else {
		err = msg.UnmarshalProto(b)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if n := msg.Traces().SpanCount(); n > 0 {
		r.first.CompareAndSwap(0, time.Now().UnixNano())
		r.spans.Add(int64(n))
	}
	out, _ := ptraceotlp.NewExportResponse().MarshalProto()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}
