package reliability

import (
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestConcurrentInFlight: 10,000 requests in flight at once are all held
// in the BPF maps, every one becomes an exported span, and every map is
// empty afterwards.
func TestConcurrentInFlight(t *testing.T) {
	const n = 10000
	p, _ := server(t)
	rcv := otlptest.Start(t)
	a := instrument(t, p.Cmd.Process.Pid, rcv.Env(), auto.WithQueueSize(2*n))

	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}, Timeout: 2 * time.Minute}
	var wg sync.WaitGroup
	var failed atomic.Int64
	var firstErr atomic.Value
	hold := func() {
		resp, err := c.Get(fmt.Sprintf("http://%s/hold?n=%d", p.Addr, n+1))
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		if err != nil {
			failed.Add(1)
			firstErr.CompareAndSwap(nil, err)
		}
	}
	for range n {
		wg.Go(hold)
	}
	var held int
	testenv.Eventually(t, 2*time.Minute, func() error {
		held = a.Stats().InFlight["server_inflight"]
		if failed.Load() > 0 {
			t.Fatalf("requests failed: %v", firstErr.Load())
		}
		if held < n {
			return fmt.Errorf("%d of %d requests in flight in BPF", held, n)
		}
		return nil
	})
	wg.Go(hold) // the last one opens the barrier
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d requests failed: %v", failed.Load(), firstErr.Load())
	}
	spans := rcv.WaitSpans(t, n+1, 2*time.Minute)
	server := 0
	for _, s := range spans {
		if s.Str("url.path") == "/hold" {
			server++
		}
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		for m, v := range a.Stats().InFlight {
			if v != 0 {
				return fmt.Errorf("map %s holds %d entries", m, v)
			}
		}
		return nil
	})
	// The receiver has the last spans before the exporter's call returns
	// and the pipeline counts them exported.
	testenv.Eventually(t, 10*time.Second, func() error {
		if s := a.Stats(); s.Exported < s.Spans {
			return fmt.Errorf("%d of %d spans counted exported", s.Exported, s.Spans)
		}
		return nil
	})
	s := a.Stats()
	t.Logf("held in BPF at once: %d; spans received %d (/hold %d); stats: spans %d exported %d dropped %d; in-flight after %v; overflows %v",
		held, len(spans), server, s.Spans, s.Exported, s.Dropped, s.InFlight, s.Overflows)
	if server != n+1 {
		t.Errorf("%d /hold spans received, want %d", server, n+1)
	}
	if s.Dropped != 0 || s.KernelDrops != 0 || s.Exported != s.Spans {
		t.Errorf("losses: %+v", s)
	}
	for name, v := range s.Overflows {
		if v != 0 {
			t.Errorf("overflow %s: %d", name, v)
		}
	}
}
