package nethttp_test

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
)

func get(t testing.TB, c *http.Client, url string) {
	resp, err := c.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestClientSpansNest: every client call a handler makes is a child of the
// handler's server span, whether it passed the request's context, no
// context at all, or a derived context on another goroutine.
func TestClientSpansNest(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/fanout")
	proc := e2etest.Start(t, bin)
	rcv := otlptest.Start(t)
	var logs e2etest.LogCapture
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t)))

	get(t, http.DefaultClient, "http://"+proc.Addr+"/fanout")
	// /fanout: 1 server + 5 client; /leaf x3 and /missing: 4 servers.
	spans := rcv.WaitSpans(t, 10, 20*time.Second)

	var root otlptest.Span
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindServer && s.Str("url.path") == "/fanout" {
			root = s
		}
	}
	if root.SpanID.IsEmpty() {
		t.Fatalf("no server span for /fanout in %d spans", len(spans))
	}
	clients := map[string]otlptest.Span{}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient {
			clients[s.Str("url.full")] = s
		}
	}
	base := "http://" + proc.Addr
	for _, c := range []struct{ url, why string }{
		{base + "/leaf?via=ctx", "request built from r.Context()"},
		{base + "/leaf?via=get", "http.Get with no context"},
		{base + "/leaf?via=goroutine", "goroutine with WithTimeout+WithValue context"},
		{"http://127.0.0.1:1/refused?user=x", "failed call"},
		{base + "/missing", "404"},
	} {
		s, ok := clients[c.url]
		if !ok {
			t.Errorf("%s: no client span for %s (have %v)", c.why, c.url, keys(clients))
			continue
		}
		if s.TraceID != root.TraceID || s.ParentID != root.SpanID {
			t.Errorf("%s: trace %s parent %s, want trace %s parent %s", c.why, s.TraceID, s.ParentID, root.TraceID, root.SpanID)
		}
		if s.Name != "GET" || s.Str("http.request.method") != "GET" {
			t.Errorf("%s: name %q method %q", c.why, s.Name, s.Str("http.request.method"))
		}
		if s.Str("server.address") != "127.0.0.1" || s.Int("server.port") == 0 {
			t.Errorf("%s: server.address %q port %d", c.why, s.Str("server.address"), s.Int("server.port"))
		}
	}
	ok := clients[base+"/leaf?via=ctx"]
	if ok.Int("http.response.status_code") != 200 || ok.Str("network.protocol.version") != "1.1" || ok.StatusCode == ptrace.StatusCodeError {
		t.Errorf("ok call: %v", ok.Attrs)
	}
	refused := clients["http://127.0.0.1:1/refused?user=x"]
	if refused.StatusCode != ptrace.StatusCodeError || refused.Str("error.type") != "net.OpError" {
		t.Errorf("refused call: status %v error.type %q", refused.StatusCode, refused.Str("error.type"))
	}
	missing := clients[base+"/missing"]
	if missing.StatusCode != ptrace.StatusCodeError || missing.Str("error.type") != "404" || missing.Int("http.response.status_code") != 404 {
		t.Errorf("404 call: status %v attrs %v", missing.StatusCode, missing.Attrs)
	}

	// Outgoing propagation: under lockdown it takes the network path, so
	// each downstream server span is the child of its client span, and
	// the log says which path and what it leaves out.
	if kernel.Detect().WriteUser != nil {
		byID := map[string]otlptest.Span{}
		for _, c := range clients {
			byID[c.SpanID.String()] = c
		}
		for _, s := range spans {
			if s.Kind == ptrace.SpanKindServer && s.SpanID != root.SpanID {
				if c, ok := byID[s.ParentID.String()]; !ok || s.TraceID != root.TraceID {
					t.Errorf("downstream span %s: trace %s parent %s, want a client span of trace %s (have %v)", s.Name, s.TraceID, s.ParentID, root.TraceID, c.SpanID)
				}
			}
		}
		if !logs.Contains("network path", "HTTPS, HTTP/2") {
			t.Errorf("no log line saying outgoing propagation takes the network path")
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestClientLoad: 1,000 concurrent requests, then many sequential ones;
// every request gives exactly its spans and the BPF maps end empty.
func TestClientLoad(t *testing.T) {
	testenv.RequireRoot(t)
	sequential := 100000
	if testing.Short() {
		sequential = 2000
	}
	const concurrent = 1000
	bin := testenv.Build(t, "testdata/fanout")
	proc := e2etest.Start(t, bin)
	rcv := otlptest.Start(t)
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrent}}
	base := "http://" + proc.Addr

	// Concurrent: the leaf sleeps so that all requests are in flight at once.
	var wg sync.WaitGroup
	peak := 0
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				if n := inst.Stats().InFlight["spans_by_goroutine"]; n > peak {
					peak = n
				}
			}
		}
	}()
	for range concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			get(t, c, base+"/one?sleep=1500ms")
		}()
	}
	wg.Wait()
	close(stop)
	t.Logf("peak in-flight goroutine spans: %d", peak)
	if peak < concurrent {
		t.Errorf("peak in-flight %d: requests were not concurrent", peak)
	}

	start := time.Now()
	for range sequential {
		get(t, c, base+"/one")
	}
	t.Logf("%d sequential requests in %v", sequential, time.Since(start))

	total := concurrent + sequential
	spans := rcv.WaitSpans(t, 3*total, 5*time.Minute)
	count := map[string]int{}
	for _, s := range spans {
		count[s.Name+" "+s.Kind.String()]++
	}
	want := map[string]int{"GET /one Server": total, "GET /leaf Server": total, "GET Client": total}
	for k, n := range want {
		if count[k] != n {
			t.Errorf("%s: %d spans, want %d", k, count[k], n)
		}
	}
	if len(spans) != 3*total {
		t.Errorf("%d spans, want %d: %v", len(spans), 3*total, count)
	}
	st := inst.Stats()
	for name, n := range st.InFlight {
		if n != 0 {
			t.Errorf("map %s holds %d entries after all requests ended", name, n)
		}
	}
	for what, n := range st.Overflows {
		if n != 0 {
			t.Errorf("overflow %s: %d", what, n)
		}
	}
	t.Logf("stats: %+v", st)
}
