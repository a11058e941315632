package grpc_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestUnprivileged runs TestSpans' scenario (a client and a server app)
// with one sonde per app as uid 65534 holding only the capabilities the
// capability table documents (e2etest.RunUnprivileged): against same-user
// apps and, with cap_sys_ptrace, root ones, every call's client and server
// span (checkCalls), the server continuing the client's trace where the
// table says BPF and user-space writes are allowed; with one capability
// removed, the feature it switches off reported and the apps still
// serving every call.
func TestUnprivileged(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/grpcapp")
	e2etest.RunUnprivileged(t, e2etest.Scenario{
		Start: func(t *testing.T, tg e2etest.Target) []*e2etest.Proc {
			return []*e2etest.Proc{tg.Start(t, bin, "GRPCAPP_MODE=server"), tg.Start(t, bin, "GRPCAPP_MODE=client")}
		},
		Check: func(t *testing.T, procs []*e2etest.Proc, attach func(t *testing.T) *otlptest.Receiver, f e2etest.Features) {
			rcv := attach(t)
			checkRun(t, procs[0], procs[1], rcv, f.On(kernel.FeatureBPFWrite) && f.On(kernel.FeatureUserWrite))
		},
		Serves: func(t *testing.T, procs []*e2etest.Proc) {
			if got := get(t, runURL(procs[1].Addr, procs[0].Addr)); got != wantReport {
				t.Errorf("/run answered\n%s\nwant\n%s", got, wantReport)
			}
		},
	})
}
