package nethttp_test

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/nethttp"
	"github.com/sonde-go/auto/probes/nethttp/netpath"
)

// envNetPathFull runs the network-path test at full length (10,000
// sequential and 500 concurrent requests) instead of the CI length.
const envNetPathFull = "SONDE_NETPATH_FULL"

// TestNetPathTarget: in a real net/http binary, the hooked function, every
// field offset and itab the network path needs are found, and every
// variable it sets exists in its BPF spec; it is off where the uprobe path
// works, or when the settings say so, and refuses an agent without its
// capabilities.
func TestNetPathTarget(t *testing.T) {
	bin, err := binary.Open(testenv.Build(t, "testdata/netpath"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	d, err := bin.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	p := nethttp.NetPath{}
	required, _ := p.Fields()
	offs, err := offsets.FromDWARF(d, required)
	if err != nil {
		t.Fatalf("offsets: %v", err)
	}
	all := kernel.Caps{Effective: ^uint64(0)}
	network := probe.Settings{nethttp.EnvPropagation: "network", nethttp.EnvPropagators: "tracecontext"}
	tgt := &probe.Target{PID: 1234, Bin: bin, Facts: &kernel.Facts{Caps: all}, Settings: network}
	vars, err := p.Vars(tgt, offs)
	if err != nil {
		t.Fatalf("Vars: %v", err)
	}
	spec, err := p.Spec()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vars {
		if _, ok := spec.Variables[v.Name]; !ok {
			t.Errorf("variable %s not in the BPF spec", v.Name)
		}
		if strings.HasPrefix(v.Name, "itab_") && v.Value == uint64(0) {
			t.Errorf("%s is 0", v.Name)
		}
	}
	if _, ok := spec.Programs["netpath_request"]; !ok {
		t.Errorf("no netpath_request program")
	}
	for _, tc := range []struct {
		name     string
		facts    kernel.Facts
		settings probe.Settings
		want     error
	}{
		{"auto with writes", kernel.Facts{Caps: all}, probe.Settings{nethttp.EnvPropagation: "auto"}, probe.ErrDisabled},
		{"auto in lockdown", kernel.Facts{Caps: all, WriteUser: errors.New("lockdown")}, probe.Settings{nethttp.EnvPropagation: "auto"}, nil},
		{"off", kernel.Facts{Caps: all, WriteUser: errors.New("lockdown")}, probe.Settings{nethttp.EnvPropagation: "off"}, probe.ErrDisabled},
		{"propagators none", kernel.Facts{Caps: all, WriteUser: errors.New("lockdown")}, probe.Settings{nethttp.EnvPropagators: "none"}, probe.ErrDisabled},
		{"bpf and perfmon only", kernel.Facts{Caps: kernel.Caps{Effective: 1<<38 | 1<<39}}, network, nethttp.ErrNetPathCaps},
	} {
		tgt := &probe.Target{PID: 1234, Bin: bin, Facts: &tc.facts, Settings: tc.settings}
		if _, err := p.Vars(tgt, offs); !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
			t.Errorf("%s: Vars error %v, want %v", tc.name, err, tc.want)
		}
	}
}

// netPathProcs are the fixture processes of the network-path test: A
// calls B; C, uninstrumented, calls B too.
type netPathProcs struct {
	a, b, c *e2etest.Proc
	rcv     *otlptest.Receiver
	instA   *auto.Instrumentation
}

func startNetPath(t *testing.T) *netPathProcs {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/netpath")
	b := e2etest.Start(t, bin, "ROLE=callee")
	a := e2etest.Start(t, bin, "ROLE=caller", "CALLEE="+b.Addr)
	c := e2etest.Start(t, bin, "ROLE=plain", "CALLEE="+b.Addr)
	rcv := otlptest.Start(t)
	var logs e2etest.LogCapture
	// Forced, so that the test runs the network path where writes are
	// allowed too; on this project's lockdown machines auto picks it.
	mode := auto.WithSetting(nethttp.EnvPropagation, nethttp.PropagationNetwork)
	instB := e2etest.Instrument(t, b.Cmd.Process.Pid, rcv, auto.WithServiceName("b"), mode)
	instA := e2etest.Instrument(t, a.Cmd.Process.Pid, rcv, auto.WithServiceName("a"), mode, auto.WithLogger(logs.Logger(t)))
	_ = instB
	if !logs.Contains("probe loaded", "network path") || !logs.Contains("not propagated", "HTTPS, HTTP/2") {
		t.Fatalf("the network-path probe did not load")
	}
	return &netPathProcs{a: a, b: b, c: c, rcv: rcv, instA: instA}
}

// Result is the fixture's summary of its calls to /echo.
type netPathResult struct {
	N           int      `json:"n"`
	OneTP       int      `json:"one_traceparent"`
	SumsOK      int      `json:"sums_ok"`
	Errors      []string `json:"errors"`
	Traceparent []string `json:"traceparent"`
}

func getJSON(t *testing.T, u string, hdr http.Header, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	c := &http.Client{Timeout: 5 * time.Minute}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", u, err, b)
	}
}

// spansOf returns the spans of service svc of kind k whose url.path (or
// url.full's path) is path.
func spansOf(spans []otlptest.Span, svc string, k ptrace.SpanKind, path string) []otlptest.Span {
	var out []otlptest.Span
	for _, s := range spans {
		if s.Resource["service.name"] != svc || s.Kind != k {
			continue
		}
		p := s.Str("url.path")
		if k == ptrace.SpanKindClient {
			u, _ := url.Parse(s.Str("url.full"))
			if u != nil {
				p = u.Path
			}
		}
		if p == path {
			out = append(out, s)
		}
	}
	return out
}

// checkParents checks that every client span of clients is the parent of
// exactly one server span of servers, in the same trace, and returns how
// many server spans have no parent at all.
func checkParents(t *testing.T, what string, clients, servers []otlptest.Span) (orphans int) {
	t.Helper()
	byID := map[pcommon.SpanID]otlptest.Span{}
	for _, c := range clients {
		byID[c.SpanID] = c
	}
	used := map[pcommon.SpanID]int{}
	bad := 0
	for _, s := range servers {
		if s.ParentID.IsEmpty() {
			orphans++
			continue
		}
		c, ok := byID[s.ParentID]
		if !ok || c.TraceID != s.TraceID {
			if bad++; bad <= 3 {
				t.Errorf("%s: server span %s (trace %s) has parent %s, not a client span of its trace", what, s.SpanID, s.TraceID, s.ParentID)
			}
			continue
		}
		used[s.ParentID]++
	}
	missing := 0
	for id := range byID {
		if used[id] != 1 {
			missing++
		}
	}
	if missing > 0 || bad > 0 {
		t.Errorf("%s: %d of %d client spans are not the parent of exactly one server span; %d server spans with a wrong parent",
			what, missing, len(clients), bad)
	}
	return orphans
}

// TestNetPathPropagates: A calls B over HTTP/1.1 keep-alive, sequentially
// and concurrently; B's server spans have A's client spans as parents,
// B receives exactly one traceparent per request and every body and
// X-Data header intact; an uninstrumented process C calling B at the
// same time sends and B receives no traceparent from it.
func TestNetPathPropagates(t *testing.T) {
	seq, conc := 1000, 100
	if os.Getenv(envNetPathFull) != "" {
		seq, conc = 10000, 500
	}
	p := startNetPath(t)
	base := "http://" + p.a.Addr

	var plain netPathResult
	var wg sync.WaitGroup
	wg.Go(func() { getJSON(t, "http://"+p.c.Addr+fmt.Sprintf("/seq?n=%d", seq/2), nil, &plain) })
	var rs, rc netPathResult
	getJSON(t, base+fmt.Sprintf("/seq?n=%d", seq), nil, &rs)
	getJSON(t, base+fmt.Sprintf("/conc?n=%d", conc), nil, &rc)
	wg.Wait()
	for _, r := range []struct {
		name string
		res  netPathResult
		n    int
	}{{"sequential", rs, seq}, {"concurrent", rc, conc}} {
		if r.res.N != r.n || r.res.OneTP != r.n || r.res.SumsOK != r.n || len(r.res.Errors) > 0 {
			t.Errorf("%s: %d requests, %d with one traceparent, %d intact, errors %v; want %d of each",
				r.name, r.res.N, r.res.OneTP, r.res.SumsOK, r.res.Errors, r.n)
		}
	}
	if plain.N != seq/2 || plain.OneTP != 0 || plain.SumsOK != seq/2 || len(plain.Errors) > 0 {
		t.Errorf("uninstrumented C: %d requests, %d with a traceparent, %d intact, errors %v; want %d, 0, %d",
			plain.N, plain.OneTP, plain.SumsOK, plain.Errors, seq/2, seq/2)
	}
	// A: /seq and /conc server spans, a client span per call; B: a
	// server span per call of A and of C.
	want := 2 + 2*(seq+conc) + seq/2
	spans := p.rcv.WaitSpans(t, want, 2*time.Minute)
	clients := spansOf(spans, "a", ptrace.SpanKindClient, "/echo")
	servers := spansOf(spans, "b", ptrace.SpanKindServer, "/echo")
	if len(clients) != seq+conc || len(servers) != seq+conc+seq/2 {
		t.Fatalf("%d client spans of A and %d server spans of B, want %d and %d", len(clients), len(servers), seq+conc, seq+conc+seq/2)
	}
	if orphans := checkParents(t, "A->B", clients, servers); orphans != seq/2 {
		t.Errorf("%d server spans of B start a trace, want %d (C's calls)", orphans, seq/2)
	}
	st := p.instA.Stats().Probes
	t.Logf("A's network-path counters: %v", st)
	if got := st["netpath: traceparent added"]; got != uint64(seq+conc) {
		t.Errorf("traceparent added %d times, want %d", got, seq+conc)
	}
	logProgStats(t)
}

// TestNetPathAppHeaders: a request with the app's own traceparent of
// another trace is sent with that one only; a proxy forwarding its
// caller's traceparent gets its own client span as the callee's parent.
func TestNetPathAppHeaders(t *testing.T) {
	p := startNetPath(t)
	base := "http://" + p.a.Addr
	const own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	var ro, rf netPathResult
	getJSON(t, base+"/own?tp="+own, nil, &ro)
	const in = "00-5bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	getJSON(t, base+"/forward", http.Header{"Traceparent": {in}}, &rf)
	if len(ro.Traceparent) != 1 || ro.Traceparent[0] != own || ro.SumsOK != 1 {
		t.Errorf("own: B received %q (intact %d), want only %q", ro.Traceparent, ro.SumsOK, own)
	}
	spans := p.rcv.WaitSpans(t, 6, 30*time.Second)
	fwd := spansOf(spans, "a", ptrace.SpanKindServer, "/forward")
	var fwdClient otlptest.Span
	for _, c := range spansOf(spans, "a", ptrace.SpanKindClient, "/echo") {
		if len(fwd) == 1 && c.ParentID == fwd[0].SpanID {
			fwdClient = c
		}
	}
	if len(fwd) != 1 || fwd[0].TraceID.String() != "5bf92f3577b34da6a3ce929d0e0e4736" || fwdClient.SpanID.IsEmpty() {
		t.Fatalf("forward: no server span of the caller's trace with a client child: %v", fwd)
	}
	wantTP := "00-5bf92f3577b34da6a3ce929d0e0e4736-" + fwdClient.SpanID.String() + "-01"
	if len(rf.Traceparent) != 1 || rf.Traceparent[0] != wantTP || rf.SumsOK != 1 {
		t.Errorf("forward: B received %q (intact %d), want only %q", rf.Traceparent, rf.SumsOK, wantTP)
	}
	for _, s := range spansOf(spans, "b", ptrace.SpanKindServer, "/echo") {
		switch s.TraceID.String() {
		case "0af7651916cd43dd8448eb211c80319c":
			if s.ParentID.String() != "b7ad6b7169203331" {
				t.Errorf("own: B's span has parent %s, want the app's b7ad6b7169203331", s.ParentID)
			}
		case "5bf92f3577b34da6a3ce929d0e0e4736":
			if s.ParentID != fwdClient.SpanID {
				t.Errorf("forward: B's span has parent %s, want the proxy's client span %s", s.ParentID, fwdClient.SpanID)
			}
		default:
			t.Errorf("B span of trace %s", s.TraceID)
		}
	}
	// HTTPS: ciphertext to the kernel, never edited; counted.
	var rt netPathResult
	getJSON(t, base+"/tls", nil, &rt)
	if rt.N != 1 || len(rt.Errors) > 0 || len(rt.Traceparent) != 0 || rt.SumsOK != 1 {
		t.Errorf("https: %d requests, errors %v, traceparent %q, intact %d; want 1, none, none, 1", rt.N, rt.Errors, rt.Traceparent, rt.SumsOK)
	}
	st := p.instA.Stats().Probes
	if st["netpath: app traceparent kept"] != 1 || st["netpath: forwarded traceparent reparented"] != 1 ||
		st["netpath: not plaintext TCP, e.g. HTTPS (not propagated)"] != 1 {
		t.Errorf("counters %v: want one kept, one reparented, one not plaintext TCP", st)
	}
}

// recorder is an uninstrumented HTTP/1.1 server that keeps the exact bytes
// of every request it receives, by path.
type recorder struct {
	ln  net.Listener
	mu  sync.Mutex
	got map[string][]byte
}

func startRecorder(t *testing.T) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, got: map[string][]byte{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(c)
		}
	}()
	return r
}

func (r *recorder) serve(c net.Conn) {
	defer c.Close()
	var buf bytes.Buffer
	br := bufio.NewReader(io.TeeReader(c, &buf))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		// The client waits for the answer: what was read is this request.
		raw := bytes.Clone(buf.Bytes()[:buf.Len()-br.Buffered()])
		buf.Next(len(raw))
		r.mu.Lock()
		r.got[req.URL.Path] = raw
		r.mu.Unlock()
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	}
}

// TestNetPathRecordedWrites: the BPF edit of real requests (the pitfall
// cases: a body starting with "GET ", a head over 4 KB, a request line
// over the scan window, a body over the write buffer, a chunked body, the
// app's own traceparent or tracestate, a forwarded one) is byte for byte
// what the Go model (netpath.Edit) makes of the transport's first write.
func TestNetPathRecordedWrites(t *testing.T) {
	p := startNetPath(t)
	rec := startRecorder(t)
	const trace = "7bf92f3577b34da6a3ce929d0e0e4736"
	const ts = "congo=t61rcWkgMzE"
	var cases []struct {
		Name  string `json:"name"`
		First []byte `json:"first"`
		Rest  []byte `json:"rest"`
	}
	getJSON(t, "http://"+p.a.Addr+"/record?to="+rec.ln.Addr().String(),
		http.Header{"Traceparent": {"00-" + trace + "-00f067aa0ba902b7-01"}, "Tracestate": {ts}}, &cases)
	if len(cases) != 10 {
		t.Fatalf("%d cases recorded, want 10", len(cases))
	}
	spans := p.rcv.WaitSpans(t, 1+len(cases), 30*time.Second)
	clientOf := map[string]otlptest.Span{}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindClient {
			u, _ := url.Parse(s.Str("url.full"))
			clientOf[strings.TrimPrefix(u.Path, "/rec/")] = s
		}
	}
	outcomes := map[string]netpath.Outcome{}
	for _, c := range cases {
		cs, ok := clientOf[c.Name]
		if !ok {
			t.Errorf("%s: no client span", c.Name)
			continue
		}
		r := netpath.Request{Sampled: true} // every exported span is sampled
		copy(r.Trace[:], cs.TraceID[:])
		copy(r.Span[:], cs.SpanID[:])
		switch c.Name {
		case "own":
			r.App = netpath.AppOther
		case "same":
			r.App = netpath.AppSame
		case "apptracestate":
			r.AppTraceState = true
		}
		if hex.EncodeToString(r.Trace[:]) != trace && c.Name != "own" {
			t.Errorf("%s: client span in trace %x", c.Name, r.Trace)
		}
		edited, o := netpath.Edit(c.First, r, []byte(ts))
		outcomes[c.Name] = o
		want := append(edited, c.Rest...)
		rec.mu.Lock()
		got := rec.got["/rec/"+c.Name]
		rec.mu.Unlock()
		if !bytes.Equal(got, want) {
			t.Errorf("%s (%v): received\n%.600q\nwant\n%.600q", c.Name, o, got, want)
		}
	}
	t.Logf("outcomes: %v", outcomes)
	wantOutcomes := map[string]netpath.Outcome{
		"get": netpath.Inserted, "post": netpath.Inserted, "getbody": netpath.Inserted, "bighead": netpath.Inserted,
		"bigbody": netpath.Inserted, "longline": netpath.NoRequestLine, "own": netpath.KeptApp,
		"same": netpath.Reparented, "apptracestate": netpath.Inserted, "chunked": netpath.Inserted,
	}
	for k, v := range wantOutcomes {
		if outcomes[k] != v {
			t.Errorf("%s: outcome %v, want %v", k, outcomes[k], v)
		}
	}
	t.Logf("counters: %v", p.instA.Stats().Probes)
}
