package reliability

import (
	"context"
	"testing"
	"time"
)

// TestAttachDetachCycles: attaching to and detaching from one live target
// 20 times (under load) leaks no BPF link, program or map, no agent file
// descriptor or heap, and no target memory.
func TestAttachDetachCycles(t *testing.T) {
	const cycles = 20
	p, bin := server(t)
	pid := p.Cmd.Process.Pid
	rcv := startCounter(t)
	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, p.Addr, "/hello", 1)
	defer func() {
		cancel()
		if _, failed, first := l.stop(); failed > 0 {
			t.Errorf("%d requests failed: %v", failed, first)
		}
	}()

	type sample struct {
		fds          int
		heap         uint64
		rss, vm      uint64 // target, kB
		links, progs int
	}
	var samples []sample
	for i := range cycles {
		a := instrument(t, pid, rcv.Env())
		get(t, p.Addr, "/sleep?ms=1", 2)
		rcv.wait(t, "/sleep", 2*(i+1), 30*time.Second)
		objs := attachedTo(t, bin)
		if len(objs.links) == 0 {
			t.Fatalf("cycle %d: no link on %s", i, bin)
		}
		if err := a.close(t); err != nil {
			t.Fatalf("cycle %d: Close: %v", i, err)
		}
		a = nil
		requireGone(t, objs)
		samples = append(samples, sample{fds: fds(t), heap: heapLive(), rss: status(t, pid, "VmRSS"), vm: status(t, pid, "VmSize"),
			links: len(objs.links), progs: len(objs.progs)})
	}
	first, second, last := samples[0], samples[1], samples[cycles-1]
	t.Logf("after cycle 1: %+v; 2: %+v; %d: %+v", first, second, cycles, last)
	if last.fds > second.fds {
		t.Errorf("agent fds grew from %d (cycle 2) to %d (cycle %d)", second.fds, last.fds, cycles)
	}
	if last.heap > second.heap+4*mib {
		t.Errorf("agent heap grew from %.1f MiB to %.1f MiB", float64(second.heap)/mib, float64(last.heap)/mib)
	}
	// The first attach maps the kernel's uprobe page into the target; after
	// that its address space must not grow by a page a cycle (the Go
	// runtime serving the load may grow it a little).
	if grown, bound := last.vm-min(last.vm, second.vm), uint64(cycles-2)*4; grown >= bound {
		t.Errorf("target VmSize grew by %d kB from cycle 2 to %d, bound %d kB", grown, cycles, bound)
	}
	if last.rss > second.rss+4096 {
		t.Errorf("target VmRSS grew from %d kB to %d kB", second.rss, last.rss)
	}
}
