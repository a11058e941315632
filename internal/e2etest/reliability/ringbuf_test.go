package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// ringbufFull is the name of the BPF counter of events the ring buffer
// had no room for, in Stats.Overflows.
const ringbufFull = "events dropped: ring buffer full"

// TestRingBufferFull: events BPF cannot emit because the ring buffer is
// full are counted, become Stats.KernelDrops and are logged. The buffer
// fills because nothing reads it: the probes are loaded but Run has not
// started (the production size and settings are unchanged).
func TestRingBufferFull(t *testing.T) {
	p, _ := server(t)
	rcv := otlptest.Start(t)
	for _, kv := range rcv.Env() {
		k, v, _ := cut(kv)
		t.Setenv(k, v)
	}
	var logs e2etest.LogCapture
	inst, err := auto.NewInstrumentation(context.Background(), auto.WithEnv(), auto.WithPID(p.Cmd.Process.Pid),
		auto.WithLogger(logs.Logger(t)), auto.WithQueueSize(1<<16))
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	if err := inst.Load(context.Background()); err != nil {
		t.Fatalf("Load: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	l := startLoad(ctx, p.Addr, "/hello", 4)
	testenv.Eventually(t, 60*time.Second, func() error {
		if n := inst.Stats().Overflows[ringbufFull]; n < 100 {
			return fmt.Errorf("%d events dropped in BPF so far", n)
		}
		return nil
	})
	cancel()
	ok, failed, first := l.stop()
	if failed > 0 {
		t.Errorf("%d requests failed: %v", failed, first)
	}
	full := inst.Stats().Overflows[ringbufFull]

	// Now read: what the ring buffer holds is exported, the rest counted.
	rctx, rcancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Run(rctx) }()
	testenv.Eventually(t, 30*time.Second, func() error {
		if s := inst.Stats(); s.Events == 0 || s.Exported < s.Spans {
			return fmt.Errorf("read %d events, exported %d of %d spans", s.Events, s.Exported, s.Spans)
		}
		return nil
	})
	rcancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	s := inst.Stats()
	t.Logf("%d requests; %d events dropped in BPF when the load stopped; final: events read %d, spans exported %d, kernel drops %d, overflow counter %d",
		ok, full, s.Events, s.Exported, s.KernelDrops, s.Overflows[ringbufFull])
	if s.KernelDrops == 0 || s.KernelDrops != s.Overflows[ringbufFull] {
		t.Errorf("Stats.KernelDrops %d, want the BPF counter's %d (> 0)", s.KernelDrops, s.Overflows[ringbufFull])
	}
	if got := uint64(ok); s.Events+s.KernelDrops < got {
		t.Errorf("events read %d + dropped %d < %d requests served", s.Events, s.KernelDrops, got)
	}
	if !logs.Contains("BPF overflow", ringbufFull) {
		t.Error("the ring buffer overflow was not logged")
	}
	if !logs.Contains("span pipeline stopped with losses", fmt.Sprintf(`"kernelDrops"=%d`, s.KernelDrops)) {
		t.Errorf("the final kernel drops (%d) were not logged", s.KernelDrops)
	}
}

func cut(kv string) (string, string, bool) {
	for i := range len(kv) {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}
