package nethttp_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/net/http2"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

func fetch(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestH2C: HTTP/2 served by golang.org/x/net/http2 through h2c (and
// HTTP/1.1 on the same port), and HTTP/2 over TLS by net/http's own: one
// server span per request with its route, status and protocol version,
// and never a span for the h2c connection preface (PRI).
func TestH2C(t *testing.T) {
	testenv.RequireRoot(t)
	proc := e2etest.Start(t, testenv.Build(t, "testdata/h2c"))
	var tlsAddr string
	for _, l := range strings.Split(proc.Stdout(), "\n") {
		if a, ok := strings.CutPrefix(l, "tls on "); ok {
			tlsAddr = strings.TrimSpace(a)
		}
	}
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)

	h2c := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
	h1 := &http.Client{Transport: &http.Transport{}}
	h2tls := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	if got := fetch(t, h2c, "http://"+proc.Addr+"/items/1"); got != "HTTP/2.0" {
		t.Fatalf("h2c answered over %q", got)
	}
	fetch(t, h2c, "http://"+proc.Addr+"/fail")
	if got := fetch(t, h1, "http://"+proc.Addr+"/items/2"); got != "HTTP/1.1" {
		t.Fatalf("HTTP/1.1 answered over %q", got)
	}
	if got := fetch(t, h2tls, "https://"+tlsAddr+"/items/3"); got != "HTTP/2.0" {
		t.Fatalf("TLS answered over %q", got)
	}
	spans := rcv.WaitSpans(t, 4, 20*time.Second)
	time.Sleep(1500 * time.Millisecond) // a PRI span would come in a later batch
	spans = rcv.Spans()
	byPath := map[string][]otlptest.Span{}
	for _, s := range spans {
		byPath[s.Str("url.path")] = append(byPath[s.Str("url.path")], s)
		if s.Attrs["http.request.method_original"] == "PRI" || s.Str("url.path") == "*" {
			t.Errorf("a span for the HTTP/2 connection preface: %s %v", s.Name, s.Attrs)
		}
	}
	for path, want := range map[string]struct {
		proto  string
		status int64
		scheme string
	}{"/items/1": {"2", 202, "http"}, "/fail": {"2", 503, "http"}, "/items/2": {"1.1", 202, "http"}, "/items/3": {"2", 202, "https"}} {
		ss := byPath[path]
		if len(ss) != 1 {
			t.Errorf("%s: %d spans, want 1", path, len(ss))
			continue
		}
		s := ss[0]
		if s.Kind != ptrace.SpanKindServer || s.Str("network.protocol.version") != want.proto || s.Int("http.response.status_code") != want.status ||
			s.Str("url.scheme") != want.scheme {
			t.Errorf("%s: %s kind %v attributes %v", path, s.Name, s.Kind, s.Attrs)
		}
		if path != "/fail" && s.Name != "GET /items/{id}" {
			t.Errorf("%s: name %q, want the route", path, s.Name)
		}
		if path == "/fail" && s.StatusCode != ptrace.StatusCodeError {
			t.Errorf("/fail: status %v", s.StatusCode)
		}
	}
}
