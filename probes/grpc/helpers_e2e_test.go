package grpc_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/otlptest"
)

const svc = "sonde.test.Echo"

// The remote parent the app sends in the Traced call's metadata.
const (
	remoteTrace = "0af7651916cd43dd8448eb211c80319c"
	remoteSpan  = "b7ad6b7169203331"
	remoteState = "k1=v1,k2=v2"
)

func get(t testing.TB, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", u, resp.Status, b)
	}
	return string(b)
}

// runURL is the /run call of the app at addr against the gRPC server at
// target ("" for its own).
func runURL(addr, target string) string {
	q := url.Values{}
	if target != "" {
		q.Set("target", target)
	}
	q.Set("traceparent", "00-"+remoteTrace+"-"+remoteSpan+"-01")
	q.Set("tracestate", remoteState)
	return "http://" + addr + "/run?" + q.Encode()
}

// wantReport is what /run answers: every call's result and status code.
const wantReport = `Ok: ok hi OK
NotFound:  NotFound
Internal:  Internal
Sleep:  DeadlineExceeded
ServerStream: [0 1 2] OK
ClientStream: [3] OK
Bidi: [a b c] OK
Traced: 00-` + remoteTrace + `-` + remoteSpan + `-01 OK
`

// call is one RPC of /run and what its spans must say.
type call struct {
	method string
	code   string // rpc.response.status_code
	// clientErr, serverErr: the span status is Error on that side.
	clientErr, serverErr bool
}

var calls = []call{
	{"Ok", "OK", false, false},
	{"NotFound", "NOT_FOUND", true, false},
	{"Internal", "INTERNAL", true, true},
	{"Sleep", "DEADLINE_EXCEEDED", true, true},
	{"ServerStream", "OK", false, false},
	{"ClientStream", "OK", false, false},
	{"Bidi", "OK", false, false},
	{"Traced", "OK", false, false},
}

// rpcSpans holds the spans of one /run by side and method.
type rpcSpans struct {
	http    otlptest.Span // the HTTP handler's server span
	client  map[string][]otlptest.Span
	server  map[string][]otlptest.Span
	unknown []otlptest.Span
}

func sortSpans(spans []otlptest.Span) rpcSpans {
	r := rpcSpans{client: map[string][]otlptest.Span{}, server: map[string][]otlptest.Span{}}
	for _, s := range spans {
		m, ok := strings.CutPrefix(s.Name, svc+"/")
		switch {
		case s.Str("url.path") != "": // "GET /run"; "GET" before Go 1.23 (no Request.Pattern)
			r.http = s
		case ok && s.Kind == ptrace.SpanKindClient:
			r.client[m] = append(r.client[m], s)
		case ok && s.Kind == ptrace.SpanKindServer:
			r.server[m] = append(r.server[m], s)
		default:
			r.unknown = append(r.unknown, s)
		}
	}
	return r
}

func port(t testing.TB, addr string) int64 {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return int64(n)
}

// checkCalls checks the client and server span of every call of /run:
// name, attributes, status, parents (client: the /run span; server: a root
// unless the call carried a traceparent, or the client span where
// propagated is set), and that the server span lies within the client one.
func checkCalls(t *testing.T, r rpcSpans, grpcAddr string, propagated bool) {
	t.Helper()
	if r.http.SpanID.IsEmpty() {
		t.Fatalf("no HTTP server span (unsorted: %v)", names(r.unknown))
	}
	for _, c := range calls {
		cs, ss := r.client[c.method], r.server[c.method]
		if len(cs) != 1 || len(ss) != 1 {
			t.Errorf("%s: %d client and %d server spans, want 1 each", c.method, len(cs), len(ss))
			continue
		}
		cl, sv := cs[0], ss[0]
		for _, s := range []otlptest.Span{cl, sv} {
			side, code := "client", c.code
			wantErr := c.clientErr
			if s.Kind == ptrace.SpanKindServer {
				side, wantErr = "server", c.serverErr
				if c.method == "Sleep" && s.Str("rpc.response.status_code") == "CANCELLED" {
					// The client's deadline fired first: it reset the
					// stream before the server's timer did.
					code, wantErr = "CANCELLED", false
				}
			}
			if s.Str("rpc.system.name") != "grpc" || s.Str("rpc.method") != svc+"/"+c.method ||
				s.Str("rpc.response.status_code") != code {
				t.Errorf("%s %s: attributes %v", c.method, side, s.Attrs)
			}
			if isErr := s.StatusCode == ptrace.StatusCodeError; isErr != wantErr {
				t.Errorf("%s %s: status %v %q, want error %v", c.method, side, s.StatusCode, s.StatusMsg, wantErr)
			}
			if wantErr && s.Str("error.type") != code {
				t.Errorf("%s %s: error.type %q, want %q", c.method, side, s.Str("error.type"), code)
			}
			if !wantErr && s.Attrs["error.type"] != nil {
				t.Errorf("%s %s: error.type %v on a span that is no error", c.method, side, s.Attrs["error.type"])
			}
			if !s.Start.Before(s.End) || s.End.Sub(s.Start) > 10*time.Second {
				t.Errorf("%s %s: times %v .. %v", c.method, side, s.Start, s.End)
			}
		}
		switch c.method {
		case "NotFound":
			if cl.StatusMsg != "no such thing" {
				t.Errorf("NotFound client: status message %q", cl.StatusMsg)
			}
		case "Internal":
			if cl.StatusMsg != "boom" || sv.StatusMsg != "boom" {
				t.Errorf("Internal: status messages %q, %q", cl.StatusMsg, sv.StatusMsg)
			}
		}
		if cl.Str("server.address") != "127.0.0.1" || cl.Int("server.port") != port(t, grpcAddr) {
			t.Errorf("%s client: server.address %q port %d, want %s", c.method, cl.Str("server.address"), cl.Int("server.port"), grpcAddr)
		}
		if sv.Str("network.peer.address") != "127.0.0.1" || sv.Int("network.peer.port") == 0 {
			t.Errorf("%s server: network.peer.address %q port %d", c.method, sv.Str("network.peer.address"), sv.Int("network.peer.port"))
		}
		if cl.TraceID != r.http.TraceID || cl.ParentID != r.http.SpanID {
			t.Errorf("%s client: trace %s parent %s, want a child of GET /run %s/%s", c.method, cl.TraceID, cl.ParentID, r.http.TraceID, r.http.SpanID)
		}
		switch {
		case c.method == "Traced":
			if sv.TraceID.String() != remoteTrace || sv.ParentID.String() != remoteSpan || sv.TraceState != remoteState {
				t.Errorf("Traced server: trace %s parent %s state %q, want the metadata's %s %s %q",
					sv.TraceID, sv.ParentID, sv.TraceState, remoteTrace, remoteSpan, remoteState)
			}
		case propagated:
			if sv.TraceID != cl.TraceID || sv.ParentID != cl.SpanID {
				t.Errorf("%s server: trace %s parent %s, want the client span %s/%s", c.method, sv.TraceID, sv.ParentID, cl.TraceID, cl.SpanID)
			}
		default:
			if !sv.ParentID.IsEmpty() || sv.TraceID == cl.TraceID {
				t.Errorf("%s server: trace %s parent %s, want a root (no propagation)", c.method, sv.TraceID, sv.ParentID)
			}
		}
		if c.method != "Sleep" && (sv.Start.Before(cl.Start) || sv.End.After(cl.End)) {
			t.Errorf("%s: server span %v..%v not within the client span %v..%v", c.method, sv.Start, sv.End, cl.Start, cl.End)
		}
	}
}

func names(spans []otlptest.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name+"("+s.Kind.String()+")")
	}
	return out
}
