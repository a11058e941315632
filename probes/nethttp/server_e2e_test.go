package nethttp_test

import (
	"debug/buildinfo"
	"go/version"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

const (
	callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
)

// request sends one request and returns the status code.
func request(t *testing.T, method, url string, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func byPath(spans []otlptest.Span) map[string]otlptest.Span {
	m := map[string]otlptest.Span{}
	for _, s := range spans {
		m[s.Str("url.path")] = s
	}
	return m
}

func TestServerSpans(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/server")
	serverSpans(t, bin, hasPattern(t, bin))
}

// hasPattern says whether the net/http of the executable at bin has
// Request.Pattern (Go 1.23+), so that server spans have http.route; the
// variants of TestGoVersions build the fixture with older Go.
func hasPattern(t *testing.T, bin string) bool {
	t.Helper()
	info, err := buildinfo.ReadFile(bin)
	if err != nil {
		t.Fatalf("reading the Go version of %s: %v", bin, err)
	}
	return version.Compare(info.GoVersion, "go1.23") >= 0
}

// TestServerSpansGo122: the same on Go 1.22: classic maps, and no
// Request.Pattern (Go 1.23+), so no http.route and spans named {method}.
func TestServerSpansGo122(t *testing.T) {
	testenv.RequireRoot(t)
	serverSpans(t, testenv.Build(t, "testdata/server", testenv.Toolchain(testenv.Go122)), false)
}

// serverSpans drives the server fixture bin; withRoute says whether the
// target's net/http exposes the matched ServeMux pattern.
func serverSpans(t *testing.T, bin string, withRoute bool) {
	proc := e2etest.Start(t, bin, "OTEL_SERVICE_NAME=fixture-server")
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)

	base := "http://" + proc.Addr
	_, portStr, _ := net.SplitHostPort(proc.Addr)
	port, _ := strconv.Atoi(portStr)

	if c := request(t, "GET", base+"/hello/world?x=1", map[string]string{
		"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01",
		"User-Agent":  "sonde-e2e/1.0",
	}); c != 200 {
		t.Fatalf("status %d", c)
	}
	request(t, "GET", base+"/hello/malformed", map[string]string{"traceparent": "00-" + callerTrace + "-zz" + callerSpan[2:] + "-01"})
	request(t, "GET", base+"/fail", nil)
	request(t, "POST", base+"/items/7/a/b", nil)
	request(t, "GET", base+"/silent", nil)
	// More than eight headers: the header map is no longer one group.
	many := map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}
	for i := range 12 {
		many["X-Filler-"+strconv.Itoa(i)] = "v"
	}
	request(t, "GET", base+"/hello/many", many)
	// Hundreds of headers: several groups of a large table (Swiss), or
	// dozens of buckets (classic). Fewer than 500 values in all: from Go
	// 1.27 the server answers more (Server.MaxHeaderValueCount's default)
	// with 431 before any handler runs, so there is no span to see.
	lots := map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}
	for i := range 400 {
		lots["X-Filler-"+strconv.Itoa(i)] = "v"
	}
	request(t, "GET", base+"/hello/lots", lots)

	spans := byPath(rcv.WaitSpans(t, 7, 20*time.Second))

	ok := spans["/hello/world"]
	checkServer(t, ok, withRoute, "GET", "/hello/{name}", 200, port)
	if got := ok.TraceID.String(); got != callerTrace {
		t.Errorf("trace ID %s, want the caller's %s", got, callerTrace)
	}
	if got := ok.ParentID.String(); got != callerSpan {
		t.Errorf("parent %s, want the caller's span %s", got, callerSpan)
	}
	if got := ok.Str("user_agent.original"); got != "sonde-e2e/1.0" {
		t.Errorf("user_agent.original %q", got)
	}
	if ok.Resource["service.name"] != "fixture-server" {
		t.Errorf("service.name %v, want the target's OTEL_SERVICE_NAME", ok.Resource["service.name"])
	}
	for _, k := range []string{"process.pid", "process.executable.path", "process.runtime.version", "telemetry.distro.name"} {
		if ok.Resource[k] == nil {
			t.Errorf("resource lacks %s", k)
		}
	}
	if !strings.HasSuffix(ok.Scope, "/probes/nethttp") {
		t.Errorf("scope %q", ok.Scope)
	}

	bad := spans["/hello/malformed"]
	checkServer(t, bad, withRoute, "GET", "/hello/{name}", 200, port)
	if bad.TraceID.String() == callerTrace || !bad.ParentID.IsEmpty() {
		t.Errorf("malformed traceparent: trace %s parent %s, want a new root", bad.TraceID, bad.ParentID)
	}

	fail := spans["/fail"]
	checkServer(t, fail, withRoute, "GET", "/fail", 500, port)
	if fail.StatusCode != ptrace.StatusCodeError || fail.Str("error.type") != "500" {
		t.Errorf("/fail: status %v error.type %q, want Error and 500", fail.StatusCode, fail.Str("error.type"))
	}

	checkServer(t, spans["/items/7/a/b"], withRoute, "POST", "/items/{id}/{rest...}", 201, port)
	checkServer(t, spans["/silent"], withRoute, "GET", "/silent", 200, port)

	m := spans["/hello/many"]
	if m.TraceID.String() != callerTrace || m.ParentID.String() != callerSpan {
		t.Errorf("traceparent among 13 headers not found: trace %s parent %s", m.TraceID, m.ParentID)
	}
	if l := spans["/hello/lots"]; l.TraceID.String() != callerTrace || l.ParentID.String() != callerSpan {
		t.Errorf("traceparent among 401 headers not found: trace %s parent %s", l.TraceID, l.ParentID)
	}
}

func checkServer(t *testing.T, s otlptest.Span, withRoute bool, method, route string, status, port int) {
	t.Helper()
	name := method + " " + route
	if !withRoute {
		name, route = method, ""
		if _, ok := s.Attrs["http.route"]; ok {
			t.Errorf("%s: http.route %v without Request.Pattern", name, s.Attrs["http.route"])
		}
	}
	if s.Name != name {
		t.Errorf("name %q, want %q", s.Name, name)
	}
	if s.Kind != ptrace.SpanKindServer {
		t.Errorf("%s: kind %v", name, s.Kind)
	}
	if s.SpanID.IsEmpty() || s.TraceID.IsEmpty() {
		t.Errorf("%s: empty IDs", name)
	}
	if !s.End.After(s.Start) || s.End.Sub(s.Start) > 10*time.Second || time.Since(s.Start) > time.Minute {
		t.Errorf("%s: times %v .. %v", name, s.Start, s.End)
	}
	want := map[string]any{
		"http.request.method":       method,
		"http.response.status_code": int64(status),
		"url.scheme":                "http",
		"server.address":            "127.0.0.1",
		"server.port":               int64(port),
		"network.peer.address":      "127.0.0.1",
		"network.protocol.version":  "1.1",
	}
	if route != "" {
		want["http.route"] = route
	}
	for k, v := range want {
		if s.Attrs[k] != v {
			t.Errorf("%s: %s = %v (%T), want %v", name, k, s.Attrs[k], s.Attrs[k], v)
		}
	}
	if p, _ := s.Attrs["network.peer.port"].(int64); p <= 0 {
		t.Errorf("%s: network.peer.port %v", name, s.Attrs["network.peer.port"])
	}
	if status < 500 && s.StatusCode == ptrace.StatusCodeError {
		t.Errorf("%s: status Error for %d", name, status)
	}
}
