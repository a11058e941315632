package reliability

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestAgentSIGKILL: the agent killed with SIGKILL under load leaves the
// target serving with no failed request, and no link, program or map of
// it remains.
func TestAgentSIGKILL(t *testing.T) {
	p, bin := server(t)
	rcv := startCounter(t)
	s := startSonde(t, append(rcv.Env(), "OTEL_GO_AUTO_TARGET_PID="+strconv.Itoa(p.Cmd.Process.Pid)))
	objs := attached(t, bin)

	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, p.Addr, "/hello", 4)
	rcv.wait(t, "/hello", 100, 30*time.Second)
	s.cmd.Process.Signal(sigkill)
	code := s.wait(t, 10*time.Second)
	time.Sleep(time.Second) // the load goes on without the agent
	cancel()
	ok, failed, first := l.stop()
	t.Logf("sonde killed (exit %d); %d requests, %d failed; %d spans exported before; %d links, %d programs, %d maps to release",
		code, ok, failed, rcv.count("/hello"), len(objs.links), len(objs.progs), len(objs.maps))
	if failed > 0 {
		t.Errorf("%d requests failed: %v", failed, first)
	}
	requireGone(t, objs)
	if left := attachedTo(t, bin); len(left.links) > 0 {
		t.Errorf("links still on the target: %v", left.links)
	}
	get(t, p.Addr, "/hello", 3)
}

// TestTargetKilledMidRequest: when the target is killed while requests
// are in flight, sonde run exits with the program's code (128+9), the
// agent with 0 (the target exited); both flush the spans finished before
// and leave no link, program or map.
func TestTargetKilledMidRequest(t *testing.T) {
	for _, mode := range []string{"run", "agent"} {
		t.Run(mode, func(t *testing.T) {
			testenv.RequireRoot(t)
			bin := testenv.Build(t, "testdata/server")
			rcv := startCounter(t)
			var s *sondeProc
			var pid int
			var addr string
			want := 0
			if mode == "run" {
				s = startSonde(t, rcv.Env(), "run", "--", bin)
				pid = atoi(t, s.line(t, "pid "))
				addr = s.line(t, "listening on ")
				want = 128 + int(syscall.SIGKILL)
			} else {
				p := e2etest.Start(t, bin)
				pid, addr = p.Cmd.Process.Pid, p.Addr
				s = startSonde(t, append(rcv.Env(), "OTEL_GO_AUTO_TARGET_PID="+strconv.Itoa(pid)))
			}
			objs := attached(t, bin)
			get(t, addr, "/hello", 5)
			var wg sync.WaitGroup
			for range 8 {
				wg.Go(func() {
					if resp, err := http.Get("http://" + addr + "/sleep?ms=10000"); err == nil {
						resp.Body.Close()
					}
				})
			}
			time.Sleep(300 * time.Millisecond) // the requests are in the handler
			syscall.Kill(pid, syscall.SIGKILL)
			wg.Wait()
			code := s.wait(t, 30*time.Second)
			t.Logf("exit %d; spans exported: /hello %d, /sleep %d", code, rcv.count("/hello"), rcv.count("/sleep"))
			if code != want {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, want, s.stderr)
			}
			requireCleanStop(t, s)
			if n := rcv.count("/hello"); n != 5 {
				t.Errorf("%d /hello spans flushed, want 5", n)
			}
			requireGone(t, objs)
		})
	}
}

// TestTargetKilledMidAttach: a target killed while the agent attaches
// makes it exit with 0 (the target exited), and nothing stays attached.
func TestTargetKilledMidAttach(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/server")
	rcv := startCounter(t)
	for _, delay := range []time.Duration{0, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond} {
		p := e2etest.Start(t, bin)
		s := startSonde(t, append(rcv.Env(), "OTEL_GO_AUTO_TARGET_PID="+strconv.Itoa(p.Cmd.Process.Pid)))
		time.Sleep(delay)
		p.Cmd.Process.Kill()
		code := s.wait(t, 30*time.Second)
		t.Logf("killed %v after sonde started: exit %d", delay, code)
		if code != 0 {
			t.Errorf("killed %v after sonde started: exit code %d, want 0; stderr:\n%s", delay, code, s.stderr)
		}
		requireCleanStop(t, s)
		if left := attachedTo(t, bin); len(left.links) > 0 {
			t.Errorf("links still on %s: %v", bin, left.links)
		}
	}
}
