package grpc_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

// grpcAddr returns the gRPC address the "both" app printed.
func grpcAddr(t *testing.T, p *e2etest.Proc) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, l := range strings.Split(p.Stdout(), "\n") {
			if a, ok := strings.CutPrefix(l, "grpc on "); ok {
				return strings.TrimSpace(a)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no gRPC address in the app's output %q", p.Stdout())
	return ""
}

// TestSpans: a client and a server in two processes, both instrumented:
// every kind of RPC gives one client span, child of the HTTP handler that
// made it, and one server span, with the semantic conventions' attributes
// and statuses; the call whose metadata carries a traceparent continues
// that trace on the server.
func TestSpans(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/grpcapp")
	server := e2etest.Start(t, bin, "GRPCAPP_MODE=server")
	client := e2etest.Start(t, bin, "GRPCAPP_MODE=client")
	rcv := otlptest.Start(t)
	var logs e2etest.LogCapture
	inst := []*auto.Instrumentation{
		e2etest.Instrument(t, server.Cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t))),
		e2etest.Instrument(t, client.Cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t))),
	}
	// Where BPF may write (the kernel matrix), the client injects its
	// context (TestPropagation).
	checkRun(t, server, client, rcv, kernel.Detect().WriteUser == nil)
	checkEmpty(t, inst...)
}

// checkRun has the client app call the server app (/run) and checks the
// spans rcv gets from both: the HTTP span, a client and a server span per
// call (checkCalls).
func checkRun(t *testing.T, server, client *e2etest.Proc, rcv *otlptest.Receiver, propagated bool) {
	t.Helper()
	if got := get(t, runURL(client.Addr, server.Addr)); got != wantReport {
		t.Fatalf("/run answered\n%s\nwant\n%s", got, wantReport)
	}
	// 1 HTTP span, then a client and a server span per call.
	spans := rcv.WaitSpans(t, 1+2*len(calls), 20*time.Second)
	time.Sleep(200 * time.Millisecond) // nothing more may come
	spans = rcv.Spans()
	r := sortSpans(spans)
	if len(spans) != 1+2*len(calls) || len(r.unknown) > 0 {
		t.Errorf("got %d spans, want %d; unexpected: %v", len(spans), 1+2*len(calls), names(r.unknown))
	}
	checkCalls(t, r, server.Addr, propagated)
}

// TestSpansOneProcess: the same with client and server in one process,
// plus a call a handler makes with its context: a child of its server span.
func TestSpansOneProcess(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/grpcapp")
	runOneProcess(t, bin)
}

func runOneProcess(t *testing.T, bin string) {
	proc := e2etest.Start(t, bin, "GRPCAPP_MODE=both")
	addr := grpcAddr(t, proc)
	rcv := otlptest.Start(t)
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	want := wantReport + "Nested: ok n OK\n"
	if got := get(t, runURL(proc.Addr, "")); got != want {
		t.Fatalf("/run answered\n%s\nwant\n%s", got, want)
	}
	// As TestSpans, plus Nested: its client and server span, and the Ok
	// call its handler makes (a client and a server span).
	n := 1 + 2*len(calls) + 4
	rcv.WaitSpans(t, n, 20*time.Second)
	time.Sleep(200 * time.Millisecond)
	spans := rcv.Spans()
	r := sortSpans(spans)
	if len(spans) != n || len(r.unknown) > 0 {
		t.Errorf("got %d spans, want %d; unexpected: %v", len(spans), n, names(r.unknown))
	}
	// Nested's inner Ok call: child of the Nested server span.
	nc, ns := r.client["Nested"], r.server["Nested"]
	if len(nc) != 1 || len(ns) != 1 || len(r.client["Ok"]) != 2 || len(r.server["Ok"]) != 2 {
		t.Fatalf("Nested: %d client, %d server spans; Ok: %d client, %d server; want 1, 1, 2, 2",
			len(nc), len(ns), len(r.client["Ok"]), len(r.server["Ok"]))
	}
	inner := r.client["Ok"][0]
	if inner.ParentID == r.http.SpanID {
		inner, r.client["Ok"] = r.client["Ok"][1], r.client["Ok"][:1]
	} else {
		r.client["Ok"] = r.client["Ok"][1:]
	}
	if inner.TraceID != ns[0].TraceID || inner.ParentID != ns[0].SpanID {
		t.Errorf("Nested's Ok call: trace %s parent %s, want a child of the Nested server span %s/%s",
			inner.TraceID, inner.ParentID, ns[0].TraceID, ns[0].SpanID)
	}
	if nc[0].ParentID != r.http.SpanID || nc[0].StatusCode == 2 || ns[0].Str("rpc.response.status_code") != "OK" {
		t.Errorf("Nested: client parent %s (want %s), status %v / %v", nc[0].ParentID, r.http.SpanID, nc[0].StatusCode, ns[0].Attrs)
	}
	// The inner Ok's server span is the one that is not a root of its own
	// trace under propagation, or whichever started later.
	oks := r.server["Ok"]
	if oks[0].Start.After(oks[1].Start) {
		oks[0], oks[1] = oks[1], oks[0]
	}
	r.server["Ok"] = oks[:1]
	checkCalls(t, r, addr, kernel.Detect().WriteUser == nil)
	checkEmpty(t, inst)
}

// checkEmpty fails when a gRPC in-flight map still holds entries.
func checkEmpty(t *testing.T, inst ...*auto.Instrumentation) {
	t.Helper()
	for _, in := range inst {
		for _, m := range []string{"server_inflight", "client_inflight"} {
			if n := in.Stats().InFlight[m]; n != 0 {
				t.Errorf("%s holds %d entries after every RPC ended", m, n)
			}
		}
	}
}

// TestCancel: a stream the client cancels ends on both sides: CANCELLED,
// an error on the client only, and no in-flight entry is left.
func TestCancel(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/grpcapp"), "GRPCAPP_MODE=both")
	rcv := otlptest.Start(t)
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	if got := get(t, "http://"+proc.Addr+"/loop?kind=cancel"); got != "done" {
		t.Fatalf("/loop?kind=cancel: %s", got)
	}
	r := sortSpans(rcv.WaitSpans(t, 3, 20*time.Second))
	cs, ss := r.client["Bidi"], r.server["Bidi"]
	if len(cs) != 1 || len(ss) != 1 {
		t.Fatalf("%d client and %d server Bidi spans, want 1 each", len(cs), len(ss))
	}
	if cs[0].Str("rpc.response.status_code") != "CANCELLED" || cs[0].StatusCode != ptrace.StatusCodeError || cs[0].ParentID != r.http.SpanID {
		t.Errorf("client: %v status %v parent %s (want %s)", cs[0].Attrs, cs[0].StatusCode, cs[0].ParentID, r.http.SpanID)
	}
	if ss[0].Str("rpc.response.status_code") != "CANCELLED" || ss[0].StatusCode == ptrace.StatusCodeError {
		t.Errorf("server: %v status %v %q", ss[0].Attrs, ss[0].StatusCode, ss[0].StatusMsg)
	}
	testenv.Eventually(t, 5*time.Second, func() error {
		for _, m := range []string{"server_inflight", "client_inflight"} {
			if n := inst.Stats().InFlight[m]; n != 0 {
				return fmt.Errorf("%s holds %d entries", m, n)
			}
		}
		return nil
	})
}
