package e2etest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// fanout is a fixture whose /wg request is a server span with two
// database spans under it: a complete trace has 3 spans.
const fanout = "../../probes/goroutines/testdata/fanout"

func request(t *testing.T, c *http.Client, url, traceparent string, tracestate ...string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if traceparent != "" {
		req.Header.Set("Traceparent", traceparent)
	}
	for _, ts := range tracestate {
		req.Header.Set("Tracestate", ts)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestSampling: traceidratio 0.25 over 4,000 root requests exports about
// 1,000 traces, each complete; the parent-based sampler honours an
// incoming unsampled flag (nothing exported, no ring buffer record) and a
// sampled one.
func TestSampling(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, fanout))
	rcv := otlptest.Start(t)
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv, auto.WithSampler(auto.ParentBased(auto.TraceIDRatio(0.25))))
	url := "http://" + proc.Addr + "/wg"
	c := &http.Client{}

	const n = 4000
	for range n {
		request(t, c, url, "")
	}
	// The end of the run: a request with a sampled caller is always
	// exported, and the ring buffer is read in the order its records were
	// reserved. Every root request's records were reserved before its
	// response was sent, so once the sentinel's three spans have arrived
	// every earlier record has been read; then "records read == spans
	// received" means every sampled span was exported. (Without the
	// sentinel a reader behind by a few hundred records under CI load
	// looked finished: 828 traces counted, 983 exported.)
	const sentinel = "6af7651916cd43dd8448eb211c80319c"
	request(t, c, url, "00-"+sentinel+"-b7ad6b7169203331-01")
	var traces map[string]int
	testenv.Eventually(t, 30*time.Second, func() error {
		traces = map[string]int{}
		for _, s := range rcv.Spans() {
			traces[s.TraceID.String()]++
		}
		if traces[sentinel] != 3 {
			return fmt.Errorf("sentinel trace: %d spans, want 3", traces[sentinel])
		}
		if inst.Stats().Events != uint64(len(rcv.Spans())) {
			return fmt.Errorf("%d records, %d spans received", inst.Stats().Events, len(rcv.Spans()))
		}
		return nil
	})
	delete(traces, sentinel)
	for id, k := range traces {
		if k != 3 {
			t.Errorf("trace %s has %d spans, want 3 (server + 2 database): a trace is sampled whole", id, k)
		}
	}
	t.Logf("traceidratio 0.25: %d of %d traces exported", len(traces), n)
	if len(traces) < 900 || len(traces) > 1100 {
		t.Errorf("%d of %d traces exported, want 1000 +/- 10%%", len(traces), n)
	}

	// Parent-based: the caller's decision wins over the ratio.
	before := inst.Stats().Events
	for range 50 {
		request(t, c, url, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")
	}
	request(t, c, url, "00-1af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	testenv.Eventually(t, 10*time.Second, func() error {
		n := 0
		for _, s := range rcv.Spans() {
			if s.TraceID.String() == "1af7651916cd43dd8448eb211c80319c" {
				n++
			}
		}
		if n != 3 {
			return fmt.Errorf("sampled caller: %d spans of its trace, want 3", n)
		}
		return nil
	})
	if got := inst.Stats().Events - before; got != 3 {
		t.Errorf("%d ring buffer records for 50 unsampled and 1 sampled request, want 3", got)
	}
	for _, s := range rcv.Spans() {
		if s.TraceID.String() == "0af7651916cd43dd8448eb211c80319c" {
			t.Fatalf("a span of the unsampled caller's trace was exported: %s", s.Name)
		}
		if s.Kind == ptrace.SpanKindServer && s.Flags&1 == 0 {
			t.Fatalf("exported span without the sampled flag")
		}
	}
}

// TestTraceState: an incoming tracestate is kept on the server span and
// on its in-process descendants; a malformed one (33 members, or longer
// than 512 bytes) is dropped, the trace still continued.
func TestTraceState(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, fanout))
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	url := "http://" + proc.Addr + "/wg"
	c := &http.Client{}
	good := "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"
	var many []string
	for i := range 33 {
		many = append(many, fmt.Sprintf("k%d=v", i))
	}
	cases := []struct{ trace, state, want string }{
		{"2af7651916cd43dd8448eb211c80319c", good, good},
		{"3af7651916cd43dd8448eb211c80319c", strings.Join(many, ","), ""},
		{"4af7651916cd43dd8448eb211c80319c", "k=" + strings.Repeat("v", 600), ""},
		{"5af7651916cd43dd8448eb211c80319c", "bad key=1", ""},
	}
	for _, tc := range cases {
		request(t, c, url, "00-"+tc.trace+"-b7ad6b7169203331-01", tc.state)
	}
	spans := rcv.WaitSpans(t, 3*len(cases), 20*time.Second)
	for _, tc := range cases {
		n := 0
		for _, s := range spans {
			if s.TraceID.String() != tc.trace {
				continue
			}
			n++
			if s.TraceState != tc.want {
				t.Errorf("trace %s: %s span tracestate %q, want %q", tc.trace, s.Kind, s.TraceState, tc.want)
			}
		}
		if n != 3 {
			t.Errorf("trace %s: %d spans, want 3", tc.trace, n)
		}
	}
}
