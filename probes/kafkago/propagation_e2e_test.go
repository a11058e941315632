package kafkago_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

// injectStats sums the write variant's kafka_inject counters over every
// loaded instance (INJECT_DONE, _OWN, _NO_ROOM, _NO_ARENA).
func injectStats(t *testing.T) [4]uint64 {
	t.Helper()
	return [4]uint64(e2etest.MapCounters("kafka_inject", 4))
}

// runCounts returns the run counts of the kafka-go programs attached
// through uprobe_multi links, by program.
func runCounts() map[string]uint64 {
	out := map[string]uint64{}
	seen := map[ebpf.ProgramID]bool{}
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil || info.UprobeMulti() == nil {
			continue
		}
		prog, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		if pi, err := prog.Info(); err == nil && !seen[info.Program] &&
			(strings.HasPrefix(pi.Name, "send_") || strings.HasPrefix(pi.Name, "receive_")) {
			seen[info.Program] = true
			if st, err := prog.Stats(); err == nil {
				out[pi.Name] += st.RunCount
			}
		}
		prog.Close()
	}
	return out
}

const propagationOff = "kafka-go: outgoing trace context propagation is off"

// TestKafkaPropagation: producer and consumer in two processes, with no
// header from the app. Where bpf_probe_write_user is allowed (the kernel
// matrix) each consumer span continues its message's producer span (the
// header Sonde added), a message whose Headers have room gets it appended
// after the app's, a message whose Headers are full is sent as it is
// (counted), and the app's messages are as they were once WriteMessages
// returns. Under lockdown the log says once per process that propagation
// is off, and the spans are there, the consumer's as roots.
func TestKafkaPropagation(t *testing.T) {
	testenv.RequireRoot(t)
	addr := broker(t, "plain", "spare", "full")
	env := []string{"KAFKA_ADDR=" + addr}
	prod := e2etest.Start(t, testenv.Build(t, "testdata/producer"), env...)
	cons := e2etest.Start(t, testenv.Build(t, "testdata/consumer"), env...)
	rcv := otlptest.Start(t)
	var plog, clog e2etest.LogCapture
	e2etest.Instrument(t, prod.Cmd.Process.Pid, rcv, auto.WithLogger(plog.Logger(t)))
	e2etest.Instrument(t, cons.Cmd.Process.Pid, rcv, auto.WithLogger(clog.Logger(t)))
	base, consBase := "http://"+prod.Addr, "http://"+cons.Addr
	writes := kernel.Detect().WriteUser == nil
	before := injectStats(t)
	if c, err := ebpf.EnableStats(0); err == nil { // BPF_STATS_RUN_TIME: probe hits
		defer c.Close()
	}
	hits0 := runCounts()

	for i, c := range []struct {
		topic, hdrs string
		n           int
		injected    bool   // where writes are allowed
		keys        string // header keys the consumer sees there
	}{
		{"plain", "", batch, true, "traceparent"},
		{"spare", "spare", 10, true, "x-app,traceparent"},
		{"full", "full", 10, false, "x-app"},
	} {
		appHeaders := 0
		if c.hdrs != "" {
			appHeaders = 1
		}
		if got, want := get(t, fmt.Sprintf("%s/produce?n=%d&topic=%s&hdrs=%s", base, c.n, c.topic, c.hdrs)),
			fmt.Sprintf("sent %d headers %d\n", c.n, appHeaders); got != want {
			t.Errorf("%s: producer answered %q, want %q (the app's messages unchanged)", c.topic, got, want)
		}
		out := strings.Split(strings.TrimSpace(get(t, fmt.Sprintf("%s/consume?n=%d&topic=%s&headers=1", consBase, c.n, c.topic))), "\n")
		wantKeys := c.keys
		if !writes {
			wantKeys = strings.TrimSuffix(strings.TrimSuffix(c.keys, "traceparent"), ",")
		}
		for _, l := range out {
			f := strings.Fields(l)
			if got := ""; len(f) == 4 || len(f) == 3 {
				if len(f) == 4 {
					got = f[3]
				}
				if got != wantKeys {
					t.Errorf("%s: consumed %q: header keys %q, want %q", c.topic, l, got, wantKeys)
				}
			}
		}
		if i == 0 {
			// Probe hits of one batch of 100 sent and 100 messages read
			// (uprobe_multi links only: the perf-event ones have no
			// program statistics per target).
			h := runCounts()
			for k := range h {
				h[k] -= hits0[k]
			}
			t.Logf("probe hits for a batch of %d sent and read: %v", c.n, h)
			if len(h) > 0 && (h["send_entry"] != 1 || h["send_return"] != 1 || h["receive_return"] != uint64(c.n)) {
				t.Errorf("probe hits %v: want send_entry and send_return once, receive_return %d times", h, c.n)
			}
		}
		propagated := writes && c.injected
		testenv.Eventually(t, 20*time.Second, func() error {
			producers := map[string]otlptest.Span{}
			var consumers []otlptest.Span
			for _, s := range rcv.Spans() {
				switch {
				case s.Kind == ptrace.SpanKindProducer && s.Name == "send "+c.topic:
					producers[s.SpanID.String()] = s
				case s.Kind == ptrace.SpanKindConsumer && s.Name == "receive "+c.topic:
					consumers = append(consumers, s)
				}
			}
			if len(producers) != c.n || len(consumers) != c.n {
				return fmt.Errorf("%s: %d producer and %d consumer spans, want %d each", c.topic, len(producers), len(consumers), c.n)
			}
			continued := map[string]bool{}
			for _, s := range consumers {
				p, ok := producers[s.ParentID.String()]
				switch {
				case propagated && (!ok || p.TraceID != s.TraceID):
					return fmt.Errorf("%s: consumer span trace %s parent %s continues no producer span", c.topic, s.TraceID, s.ParentID)
				case !propagated && !s.ParentID.IsEmpty():
					return fmt.Errorf("%s: consumer span has parent %s, want a root (nothing propagated)", c.topic, s.ParentID)
				}
				continued[s.ParentID.String()] = true
			}
			if propagated && len(continued) != c.n {
				return fmt.Errorf("%s: consumer spans continue %d distinct producer spans, want %d", c.topic, len(continued), c.n)
			}
			return nil
		})
	}

	after := injectStats(t)
	if writes {
		if done, full := after[0]-before[0], after[2]-before[2]; done != batch+10 || full != 10 {
			t.Errorf("kafka_inject: %d messages given a traceparent, %d without room; want %d and 10", done, full, batch+10)
		}
		if n := plog.Count(propagationOff); n != 0 {
			t.Errorf("writes allowed, yet the producer's log says %d times that propagation is off", n)
		}
		return
	}
	for name, l := range map[string]*e2etest.LogCapture{"producer": &plog, "consumer": &clog} {
		if n := l.Count(propagationOff); n != 1 {
			t.Errorf("%s: the log says %d times that propagation is off, want once", name, n)
		}
	}
}
