package grpc_test

import (
	"testing"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

// injectStats sums the propagation probe's grpc_inject counters over
// every loaded instance (DONE, OWN, NO_ROOM, NO_SPAN).
func injectStats(t *testing.T) [4]uint64 {
	t.Helper()
	return [4]uint64(e2etest.MapCounters("grpc_inject", 4))
}

const propagationOff = "gRPC: outgoing trace context propagation is off"

// TestPropagation: a client and a server in two processes, both
// instrumented. Where bpf_probe_write_user is allowed (the kernel matrix)
// the injected metadata gives server spans parented by the client spans
// across processes, for every kind of RPC; the call that carries the
// app's own traceparent keeps it (no second one); a call whose metadata is
// too big for Sonde's copy goes out as it is (counted) and its server span
// is a root. Under lockdown the client's log says once that gRPC
// propagation is off, and every span is there, the server's as roots.
func TestPropagation(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/grpcapp")
	server := e2etest.Start(t, bin, "GRPCAPP_MODE=server")
	client := e2etest.Start(t, bin, "GRPCAPP_MODE=client")
	rcv := otlptest.Start(t)
	var slog, clog e2etest.LogCapture
	e2etest.Instrument(t, server.Cmd.Process.Pid, rcv, auto.WithLogger(slog.Logger(t)))
	e2etest.Instrument(t, client.Cmd.Process.Pid, rcv, auto.WithLogger(clog.Logger(t)))
	writes := kernel.Detect().WriteUser == nil
	before := injectStats(t)

	if got := get(t, runURL(client.Addr, server.Addr)); got != wantReport {
		t.Fatalf("/run answered\n%s\nwant\n%s", got, wantReport)
	}
	spans := rcv.WaitSpans(t, 1+2*len(calls), 20*time.Second)
	time.Sleep(200 * time.Millisecond)
	spans = rcv.Spans()
	r := sortSpans(spans)
	if len(spans) != 1+2*len(calls) || len(r.unknown) > 0 {
		t.Errorf("got %d spans, want %d; unexpected: %v", len(spans), 1+2*len(calls), names(r.unknown))
	}
	checkCalls(t, r, server.Addr, writes)

	// Metadata too big to copy: no traceparent, the server span a root.
	if got := get(t, "http://"+client.Addr+"/big?target="+server.Addr); got != "ok big OK\n" {
		t.Fatalf("/big answered %q", got)
	}
	big := rcv.WaitSpans(t, len(spans)+3, 20*time.Second)
	var bigClient, bigServer []otlptest.Span
	for _, s := range big[len(spans):] {
		if s.Name == svc+"/Ok" {
			if s.Kind == 3 { // client
				bigClient = append(bigClient, s)
			} else {
				bigServer = append(bigServer, s)
			}
		}
	}
	if len(bigClient) != 1 || len(bigServer) != 1 {
		t.Fatalf("/big: %d client and %d server spans, want 1 each", len(bigClient), len(bigServer))
	}
	if !bigServer[0].ParentID.IsEmpty() || bigServer[0].TraceID == bigClient[0].TraceID {
		t.Errorf("/big server span: trace %s parent %s, want a root", bigServer[0].TraceID, bigServer[0].ParentID)
	}

	after := injectStats(t)
	if writes {
		// Ok, NotFound, Internal, Sleep and the three streams; Traced has
		// its own; /big does not fit.
		if done, own, full := after[0]-before[0], after[1]-before[1], after[2]-before[2]; done != 7 || own != 1 || full != 1 {
			t.Errorf("grpc_inject: %d injected, %d own, %d without room; want 7, 1, 1", done, own, full)
		}
		if n := clog.Count(propagationOff); n != 0 {
			t.Errorf("writes allowed, yet the client's log says %d times that propagation is off", n)
		}
		return
	}
	if n := clog.Count(propagationOff); n != 1 {
		t.Errorf("the client's log says %d times that gRPC propagation is off, want once", n)
	}
}
