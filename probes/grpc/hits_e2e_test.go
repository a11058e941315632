package grpc_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

// programs are this package's programs.
var programs = map[string]bool{
	"server_entry": true, "server_status": true, "server_close": true,
	"client_entry": true, "client_finish": true, "inject_md": true,
}

// runCounts returns the run counts of this package's programs attached to
// pid through uprobe_multi links, by program; false when there are none (the
// perf-event fallback).
func runCounts(t *testing.T, pid int) (map[string]uint64, bool) {
	t.Helper()
	it := new(link.Iterator)
	defer it.Close()
	seen := map[ebpf.ProgramID]bool{}
	out := map[string]uint64{}
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil || info.UprobeMulti() == nil {
			continue
		}
		if p, ok := info.UprobeMulti().Pid(); !ok || int(p) != pid || seen[info.Program] {
			continue
		}
		seen[info.Program] = true
		prog, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		if pi, err := prog.Info(); err == nil && programs[pi.Name] {
			if st, err := prog.Stats(); err == nil {
				out[pi.Name] += st.RunCount
			}
		}
		prog.Close()
	}
	return out, len(seen) > 0
}

// TestProbeHits: two probe hits per RPC on each side, none per streamed
// message.
func TestProbeHits(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/grpcapp"), "GRPCAPP_MODE=both")
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	c, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
	if err != nil {
		t.Logf("probe hits not measured: BPF run statistics unavailable: %v", err)
		return
	}
	defer c.Close()
	if _, multi := runCounts(t, proc.Cmd.Process.Pid); !multi {
		t.Log("probe hits not measured: no uprobe_multi links (perf-event uprobes)")
		return
	}
	measure := func(kind string, n int) map[string]uint64 {
		before, _ := runCounts(t, proc.Cmd.Process.Pid)
		if got := get(t, "http://"+proc.Addr+"/loop?kind="+kind+"&n="+strconv.Itoa(n)); got != "done" {
			t.Fatalf("/loop: %s", got)
		}
		time.Sleep(100 * time.Millisecond) // the server's last status write
		after, _ := runCounts(t, proc.Cmd.Process.Pid)
		for k := range after {
			after[k] -= before[k]
		}
		return after
	}
	// handleStream's entry can fire twice for one RPC: Go re-runs a
	// function's first instruction after growing a new goroutine's stack
	// (the BPF side ignores the second); a few such are allowed.
	check := func(what string, got map[string]uint64, want map[string]uint64, reentries uint64) {
		t.Helper()
		t.Logf("%s: probe hits %v", what, got)
		for p, w := range want {
			if p == "server_entry" && got[p] >= w && got[p] <= w+reentries {
				continue
			}
			if got[p] != w {
				t.Errorf("%s: %s ran %d times, want %d", what, p, got[p], w)
			}
		}
	}
	const n = 200
	// Where BPF may write, the propagation probe adds one hit per client
	// RPC (Inject).
	var inj uint64
	if kernel.Detect().WriteUser == nil {
		inj = 1
	}
	check("200 unary RPCs", measure("unary", n), map[string]uint64{
		"server_entry": n, "server_status": n, "server_close": 0, "client_entry": n, "client_finish": n,
		"inject_md": inj * n,
	}, n/10)
	// A stream's client side also hits finish a second time: the goroutine
	// that watches the stream's context calls it (a no-op) once finish has
	// cancelled that context.
	check("one bidi stream of 200 messages each way", measure("bidi", n), map[string]uint64{
		"server_entry": 1, "server_status": 1, "server_close": 0, "client_entry": 1, "client_finish": 2,
		"inject_md": inj,
	}, 1)
	rcv.WaitSpans(t, 2*n+2+2, 20*time.Second)
}
