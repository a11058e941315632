package goroutines_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	// The fixture under testdata builds in this module, which go mod tidy
	// does not see: this import keeps its errgroup in go.mod.
	_ "golang.org/x/sync/errgroup"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

func get(t *testing.T, url string) {
	t.Helper()
	// A new connection each time: a fresh connection goroutine.
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// TestFanOut: ctx-less queries on goroutines a handler starts (WaitGroup,
// errgroup, and a goroutine of such a goroutine) are children of its
// server span; a worker pool started during the first request gives each
// job's query with the job's context its own request as parent, and never
// keeps the first request as the parent of later ctx-less work.
func TestFanOut(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/fanout"))
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	base := "http://" + proc.Addr
	get(t, base+"/wg")
	get(t, base+"/errgroup")
	for range 3 {
		get(t, base+"/pool")
	}
	// wg: 1+2, errgroup: 1+2+2 nested, pool: 3 x (1+2).
	spans := rcv.WaitSpans(t, 17, 20*time.Second)
	servers := map[string][]otlptest.Span{}
	byTrace := map[string][]otlptest.Span{}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindServer {
			servers[s.Name] = append(servers[s.Name], s)
		} else {
			byTrace[s.TraceID.String()] = append(byTrace[s.TraceID.String()], s)
		}
	}
	for _, route := range []string{"GET /wg", "GET /errgroup"} {
		srv := servers[route]
		if len(srv) != 1 {
			t.Fatalf("%s: %d server spans", route, len(srv))
		}
		want := map[string]int{"GET /wg": 2, "GET /errgroup": 4}[route]
		kids := byTrace[srv[0].TraceID.String()]
		n := 0
		for _, k := range kids {
			if k.ParentID == srv[0].SpanID {
				n++
			}
		}
		if n != want || len(kids) != want {
			t.Errorf("%s: %d of %d database spans in its trace are its children, want %d", route, n, len(kids), want)
		}
	}
	pools := servers["GET /pool"]
	if len(pools) != 3 {
		t.Fatalf("%d /pool server spans", len(pools))
	}
	first := pools[0]
	for _, p := range pools[1:] {
		if p.Start.Before(first.Start) {
			first = p
		}
	}
	for _, p := range pools {
		kids := byTrace[p.TraceID.String()]
		job := 0
		for _, k := range kids {
			if k.ParentID == p.SpanID {
				job++
			}
		}
		if job < 1 {
			t.Errorf("pool request %s: its job's query is not its child", p.SpanID)
		}
	}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient && s.ParentID == first.SpanID && s.TraceID == first.TraceID {
			continue
		}
		if s.ParentID == first.SpanID && s.TraceID != first.TraceID {
			t.Errorf("span %s keeps the first request as a stale parent", s.SpanID)
		}
	}
	// The stale check proper: the ctx-less queries of the 2nd and 3rd pool
	// requests are not in the first request's trace.
	if n := len(byTrace[first.TraceID.String()]); n > 2 {
		t.Errorf("the first /pool trace has %d database spans, want at most 2: later requests' ctx-less work went to it", n)
	}
}
