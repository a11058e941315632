package reliability

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/pipeline"
)

// spanBytes is a generous bound of what one queued span costs the agent.
const spanBytes = 4 << 10

// watchQueue samples Stats until ctx is done and returns the largest queue
// seen.
func watchQueue(ctx context.Context, a *agent) <-chan int64 {
	out := make(chan int64, 1)
	go func() {
		var peak int64
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if q := queued(a.Stats()); q > peak {
				peak = q
			}
			select {
			case <-ctx.Done():
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// TestExporterDown: with the collector unreachable for a while (5 s, 60 s
// with SONDE_TEST_FULL=1) under load, the queue and the agent's heap stay
// bounded, losses are counted and logged, and spans made after the
// collector is back arrive.
func TestExporterDown(t *testing.T) {
	p, _ := server(t)
	rcv := otlptest.Start(t)
	f := newFront(t, rcv)
	queue := length(1024, pipeline.DefaultQueueSize)
	outage := length(5*time.Second, 60*time.Second)
	a := instrument(t, p.Cmd.Process.Pid, f.Env(), auto.WithQueueSize(queue))

	get(t, p.Addr, "/hello", 5)
	rcv.WaitSpans(t, 5, 30*time.Second)

	base := heapLive()
	heap := sampleHeap(250 * time.Millisecond)
	f.down()
	ctx, cancel := context.WithTimeout(context.Background(), outage)
	qpeak := watchQueue(ctx, a)
	l := startLoad(ctx, p.Addr, "/hello", 4)
	<-ctx.Done()
	ok, failed, first := l.stop()
	cancel()
	peak := heap.Stop()
	maxQueued := <-qpeak
	during := a.Stats()
	f.up()

	t.Logf("outage %v: %d requests (%d failed), queue peak %d of %d, heap %.1f MiB before, peak %.1f MiB (+%.1f); stats %+v",
		outage, ok, failed, maxQueued, queue, float64(base)/mib, float64(peak)/mib, float64(peak-min(peak, base))/mib, during)
	if failed > 0 {
		t.Errorf("%d requests failed: %v", failed, first)
	}
	if maxQueued > int64(queue)+1 { // +1: the span being handled is decoded, not yet queued or dropped
		t.Errorf("queue reached %d spans, bound %d", maxQueued, queue)
	}
	if bound := base + uint64(queue)*spanBytes + 16*mib; peak > bound {
		t.Errorf("heap peak %.1f MiB over the bound %.1f MiB", float64(peak)/mib, float64(bound)/mib)
	}
	// A refused connection fails the export at once (ExportErrors); a
	// collector that hangs fills the queue (Dropped).
	if during.Dropped+during.ExportErrors == 0 {
		t.Errorf("no span lost while the collector was down (%d spans, queue %d)", during.Spans, queue)
	}
	if during.ExportErrors > 0 && !a.logs.Contains(`"msg"="exporting spans"`, "connection refused") {
		t.Error("the failed exports were not logged")
	}
	if during.Dropped > 0 && !a.logs.Contains("export queue full or closed: dropping spans") {
		t.Error("the drops were not logged")
	}

	// After recovery: new spans arrive.
	get(t, p.Addr, "/sleep?ms=1", 3)
	deadline := time.Now().Add(90 * time.Second)
	for n := 0; n < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 3 spans made after the collector came back arrived", n)
		}
		n = 0
		for _, s := range rcv.Spans() {
			if s.Str("url.path") == "/sleep" {
				n++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	err := a.close(t)
	if err != nil && !errors.Is(err, auto.ErrShutdownTimeout) {
		t.Errorf("Close: %v", err)
	}
	s := a.final
	t.Logf("final: spans %d exported %d dropped %d exportErrors %d", s.Spans, s.Exported, s.Dropped, s.ExportErrors)
	if s.Spans != s.Exported+s.ExportErrors+s.Dropped {
		t.Errorf("spans %d != exported %d + export errors %d + dropped %d", s.Spans, s.Exported, s.ExportErrors, s.Dropped)
	}
	if !a.logs.Contains("span pipeline stopped with losses", fmt.Sprintf(`"dropped"=%d`, s.Dropped), fmt.Sprintf(`"exportErrors"=%d`, s.ExportErrors)) {
		t.Errorf("the final losses (dropped %d, export errors %d) were not logged", s.Dropped, s.ExportErrors)
	}
}

// TestExporterSlow: a collector that takes 2 s per request keeps the queue
// and heap bounded; what it cannot take is dropped and counted.
func TestExporterSlow(t *testing.T) {
	p, _ := server(t)
	rcv := otlptest.Start(t)
	f := newFront(t, rcv)
	f.delay.Store(int64(2 * time.Second))
	queue := length(1024, pipeline.DefaultQueueSize)
	dur := length(6*time.Second, 60*time.Second)
	a := instrument(t, p.Cmd.Process.Pid, f.Env(), auto.WithQueueSize(queue), auto.WithShutdownTimeout(3*time.Second))

	base := heapLive()
	heap := sampleHeap(250 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	qpeak := watchQueue(ctx, a)
	l := startLoad(ctx, p.Addr, "/hello", 4)
	<-ctx.Done()
	ok, failed, first := l.stop()
	cancel()
	peak := heap.Stop()
	maxQueued := <-qpeak
	err := a.close(t)
	s := a.final
	t.Logf("slow collector for %v: %d requests (%d failed), queue peak %d of %d, heap %.1f MiB before, peak %.1f MiB; final spans %d exported %d dropped %d exportErrors %d; Close: %v",
		dur, ok, failed, maxQueued, queue, float64(base)/mib, float64(peak)/mib, s.Spans, s.Exported, s.Dropped, s.ExportErrors, err)
	if err != nil && !errors.Is(err, auto.ErrShutdownTimeout) {
		t.Errorf("Close: %v", err)
	}
	if failed > 0 {
		t.Errorf("%d requests failed: %v", failed, first)
	}
	if maxQueued > int64(queue)+1 { // +1: the span being handled is decoded, not yet queued or dropped
		t.Errorf("queue reached %d spans, bound %d", maxQueued, queue)
	}
	if bound := base + uint64(queue)*spanBytes + 16*mib; peak > bound {
		t.Errorf("heap peak %.1f MiB over the bound %.1f MiB", float64(peak)/mib, float64(bound)/mib)
	}
	if s.Exported == 0 || s.Dropped == 0 {
		t.Errorf("want some spans exported and some dropped: %+v", s)
	}
	if s.Spans != s.Exported+s.ExportErrors+s.Dropped {
		t.Errorf("spans %d != exported %d + export errors %d + dropped %d", s.Spans, s.Exported, s.ExportErrors, s.Dropped)
	}
	// An export still in flight when the shutdown deadline passed is
	// abandoned and its spans counted not sent, but the slow collector
	// may still take it: at most one batch (512 spans) more.
	got, slack := uint64(len(rcv.Spans())), uint64(0)
	if errors.Is(err, auto.ErrShutdownTimeout) {
		slack = 512
	}
	if got < s.Exported || got > s.Exported+slack {
		t.Errorf("the receiver has %d spans, Stats.Exported %d (+%d for an abandoned export)", got, s.Exported, slack)
	}
}
