package nethttp_test

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// netPathObjects lists the network-path programs and the socket map that
// exist in the kernel, by name.
func netPathObjects() []string {
	var out []string
	var pid ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(pid)
		if err != nil {
			break
		}
		pid = next
		if p, err := ebpf.NewProgramFromID(pid); err == nil {
			if info, err := p.Info(); err == nil && strings.HasPrefix(info.Name, "netpath_") {
				out = append(out, info.Name)
			}
			p.Close()
		}
	}
	var mid ebpf.MapID
	for {
		next, err := ebpf.MapGetNextID(mid)
		if err != nil {
			break
		}
		mid = next
		if m, err := ebpf.NewMapFromID(mid); err == nil {
			if info, err := m.Info(); err == nil && info.Name == "np_socks" {
				out = append(out, info.Name)
			}
			m.Close()
		}
	}
	return out
}

// TestNetPathAgentKilled: an agent killed with SIGKILL leaves no socket
// program behind: the cgroup attachment is a link that dies with its
// file descriptor, and the sk_msg program dies with its socket map, which
// nothing else holds. Requests on the connections it watched go out
// untouched.
func TestNetPathAgentKilled(t *testing.T) {
	testenv.RequireRoot(t)
	// The kernel frees a closed agent's socket map a moment later (after
	// an RCU grace period): give an earlier test's agent that long.
	for i := 0; len(netPathObjects()) > 0 && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if objs := netPathObjects(); len(objs) > 0 {
		t.Skipf("network-path objects of another agent are loaded: %v", objs)
	}
	sonde := testenv.Build(t, "../../cmd/sonde")
	bin := testenv.Build(t, "testdata/netpath")
	b := e2etest.Start(t, bin, "ROLE=callee")
	a := e2etest.Start(t, bin, "ROLE=caller", "CALLEE="+b.Addr)
	cmd := exec.Command(sonde)
	cmd.Env = append(cmd.Environ(), "OTEL_GO_AUTO_TARGET_PID="+strconv.Itoa(a.Cmd.Process.Pid),
		"OTEL_TRACES_EXPORTER=none", "OTEL_GO_AUTO_PROPAGATION=network")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log(sc.Text())
			if strings.Contains(sc.Text(), "network path") && strings.Contains(sc.Text(), "probe loaded") {
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("sonde did not load the network path")
	}
	var before netPathResult
	getJSON(t, "http://"+a.Addr+"/seq?n=5", nil, &before)
	if before.OneTP != 5 {
		t.Fatalf("with the agent: %d of 5 requests carried one traceparent", before.OneTP)
	}
	loaded := netPathObjects()
	if len(loaded) != 4 {
		t.Errorf("with the agent, network-path objects %v, want its 3 programs and np_socks", loaded)
	}
	cmd.Process.Kill()
	cmd.Wait()
	testenv.Eventually(t, 10*time.Second, func() error {
		if objs := netPathObjects(); len(objs) > 0 {
			return &leftError{objs}
		}
		return nil
	})
	var after netPathResult
	getJSON(t, "http://"+a.Addr+"/seq?n=5", nil, &after)
	if after.N != 5 || after.OneTP != 0 || after.SumsOK != 5 {
		t.Errorf("after SIGKILL: %d requests, %d with a traceparent, %d intact; want 5, 0, 5", after.N, after.OneTP, after.SumsOK)
	}
}

type leftError struct{ objs []string }

func (e *leftError) Error() string { return "left after SIGKILL: " + strings.Join(e.objs, ", ") }
