package nethttp_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

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
)

// appTraceparent is the header the fixture's /own handler sets itself.
const appTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

// TestInjectRefusesNoWriteUser: on a kernel that refuses
// bpf_probe_write_user the probe is skipped with the kernel's reason,
// before anything is loaded.
func TestInjectRefusesNoWriteUser(t *testing.T) {
	why := errors.New("kernel lockdown (integrity) refuses bpf_probe_write_user")
	tgt := &probe.Target{Facts: &kernel.Facts{WriteUser: why}}
	vars, err := nethttp.Inject{}.Vars(tgt, offsets.Table{})
	if err == nil || vars != nil {
		t.Fatalf("Vars = %v, %v; want an error", vars, err)
	}
	if !errors.Is(err, why) || !strings.Contains(err.Error(), "bpf_probe_write_user unavailable") ||
		!strings.Contains(err.Error(), "lockdown") {
		t.Errorf("error %q does not say why", err)
	}
}

// TestInjectTarget: in a real net/http binary, every hooked function, field
// offset and itab the probe needs is found, and every variable it sets
// exists in its BPF spec.
func TestInjectTarget(t *testing.T) {
	bin, err := binary.Open(testenv.Build(t, "testdata/propagate"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	d, err := bin.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	p := nethttp.Inject{}
	for _, h := range p.Hooks() {
		if _, err := bin.Func(h.Symbol); err != nil {
			t.Errorf("hook %s: %v", h.Symbol, err)
		}
	}
	required, _ := p.Fields()
	offs, err := offsets.FromDWARF(d, required)
	if err != nil {
		t.Fatalf("offsets: %v", err)
	}
	// bufio.Writer is {err error; buf []byte; n int; wr io.Writer}.
	if b, n := offs[offsets.Field{Struct: "bufio.Writer", Name: "buf"}], offs[offsets.Field{Struct: "bufio.Writer", Name: "n"}]; b != 16 || n != 40 {
		t.Errorf("bufio.Writer offsets buf %d n %d, want 16 40", b, n)
	}
	tgt := &probe.Target{Bin: bin, Facts: &kernel.Facts{}}
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
		if v.Name == "itab_bufio_writer" && v.Value == uint64(0) {
			t.Errorf("no *bufio.Writer io.Writer itab")
		}
	}
	for _, h := range p.Hooks() {
		if _, ok := spec.Programs[h.Entry]; !ok {
			t.Errorf("program %s not in the BPF spec", h.Entry)
		}
	}
}

// leafSaw sends GET url and returns the body: the traceparent values the
// fixture's /leaf/{via} received, comma-separated.
func leafSaw(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// TestInjectPropagates: where bpf_probe_write_user works, a client call
// carries its span's traceparent, so the server it calls joins the trace
// as the client span's child; a request that has its own traceparent is
// sent with that one only.
func TestInjectPropagates(t *testing.T) {
	testenv.RequireRoot(t)
	why := kernel.Detect().WriteUser
	testenv.RequireInVM(t, why == nil, "bpf_probe_write_user unavailable: %v", why)
	bin := testenv.Build(t, "testdata/propagate")
	proc := e2etest.Start(t, bin)
	rcv := otlptest.Start(t)
	var logs e2etest.LogCapture
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t)))
	if !logs.Contains("probe loaded", "net/http client propagation") {
		t.Fatalf("the propagation probe did not load")
	}
	base := "http://" + proc.Addr
	saw := map[string]string{}
	for _, via := range []string{"call", "post", "own"} {
		saw[via] = leafSaw(t, base+"/"+via)
	}
	// Per call: the handler's server span, its client span, /leaf's server span.
	spans := rcv.WaitSpans(t, 9, 20*time.Second)

	// By the path of the /leaf/{via} call: its client span and its server span.
	byVia := map[string]map[ptrace.SpanKind]otlptest.Span{}
	for _, s := range spans {
		path := s.Str("url.path")
		if s.Kind == ptrace.SpanKindClient {
			path = strings.TrimPrefix(s.Str("url.full"), base)
		}
		via, ok := strings.CutPrefix(path, "/leaf/")
		if !ok {
			continue
		}
		if byVia[via] == nil {
			byVia[via] = map[ptrace.SpanKind]otlptest.Span{}
		}
		byVia[via][s.Kind] = s
	}
	for _, via := range []string{"call", "post"} {
		client, leaf := byVia[via][ptrace.SpanKindClient], byVia[via][ptrace.SpanKindServer]
		if client.SpanID.IsEmpty() || leaf.SpanID.IsEmpty() {
			t.Errorf("%s: no client or /leaf span in %v", via, byVia)
			continue
		}
		want := "00-" + client.TraceID.String() + "-" + client.SpanID.String() + "-01"
		if saw[via] != want {
			t.Errorf("%s: /leaf received traceparent %q, want %q", via, saw[via], want)
		}
		if leaf.TraceID != client.TraceID || leaf.ParentID != client.SpanID {
			t.Errorf("%s: /leaf span trace %s parent %s, want trace %s parent %s",
				via, leaf.TraceID, leaf.ParentID, client.TraceID, client.SpanID)
		}
	}
	if saw["own"] != appTraceparent {
		t.Errorf("own: /leaf received traceparent %q, want only the app's %q", saw["own"], appTraceparent)
	}
	if leaf := byVia["own"][ptrace.SpanKindServer]; leaf.TraceID.String() != "0af7651916cd43dd8448eb211c80319c" ||
		leaf.ParentID.String() != "b7ad6b7169203331" {
		t.Errorf("own: /leaf span trace %s parent %s, want the app's", leaf.TraceID, leaf.ParentID)
	}
	// A trace that came in with a tracestate sends it on with its
	// traceparent.
	req, _ := http.NewRequest("GET", base+"/call", nil)
	req.Header.Set("Traceparent", "00-6af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	req.Header.Set("Tracestate", "congo=t61rcWkgMzE")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := string(b); !strings.HasPrefix(got, "00-6af7651916cd43dd8448eb211c80319c-") || !strings.HasSuffix(got, " congo=t61rcWkgMzE") {
		t.Errorf("/leaf received %q, want the trace's traceparent and its tracestate", got)
	}
	if n := inst.Stats().InFlight["inject_inflight"]; n != 0 {
		t.Errorf("inject_inflight holds %d entries after all requests ended", n)
	}
}
