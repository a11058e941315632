package e2etest_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// caddyVersion is the Caddy release built, through the module proxy.
const caddyVersion = "v2.11.9"

// caddyBinary builds Caddy's release with -ldflags='-s -w' (as its
// release downloads are) once per machine: the result is kept in the
// user cache directory (sonde-e2e/caddy-VERSION-stripped), as a build
// takes minutes.
func caddyBinary(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(cache, "sonde-e2e", "caddy-"+caddyVersion+"-stripped")
	if _, err := os.Stat(out); err == nil {
		return out
	}
	bin := testenv.BuildModule(t, "testdata/caddy", []string{"github.com/caddyserver/caddy/v2 " + caddyVersion}, testenv.Stripped)
	if bin == "" {
		return ""
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err == nil {
		err = os.WriteFile(out+".tmp", b, 0o755)
	}
	if err == nil {
		err = os.Rename(out+".tmp", out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCaddyStripped instruments a stripped build of Caddy, a real program
// nobody here wrote, running as a reverse proxy to an upstream in the
// test: each request through it is a SERVER span from Caddy's net/http
// server and, as its child (found through the context chain, whose itabs
// come from the itab list), a CLIENT span for the upstream call.
func TestCaddyStripped(t *testing.T) {
	testenv.RequireRoot(t)
	bin := caddyBinary(t)
	f, err := binary.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	if f.HasSymtab() {
		t.Fatal("the Caddy build has a symbol table")
	}
	if _, derr := f.DWARF(); derr == nil {
		t.Fatal("the Caddy build has DWARF")
	}
	f.Close()

	seen := make(chan string, 16)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
		fmt.Fprintln(w, "upstream", r.URL.Path)
	}))
	t.Cleanup(upstream.Close)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, "reverse-proxy", "--from", "http://"+addr, "--to", upstream.Listener.Addr().String())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "XDG_DATA_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"error"`) {
				t.Log("caddy:", sc.Text())
			}
		}
	}()
	testenv.Eventually(t, 30*time.Second, func() error {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err
	})

	rcv := otlptest.Start(t)
	var logs e2etest.LogCapture
	e2etest.Instrument(t, cmd.Process.Pid, rcv, auto.WithLogger(logs.Logger(t)))
	for _, p := range []string{"net/http server", "net/http client"} {
		if !logs.Contains("probe loaded", p) {
			t.Fatalf("the %s probe did not load on stripped Caddy", p)
		}
	}
	const n = 5
	for i := 0; i < n; i++ {
		resp, err := http.Get(fmt.Sprintf("http://%s/caddy/%d", addr, i))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "upstream") {
			t.Fatalf("GET through caddy: %d %q", resp.StatusCode, body)
		}
	}
	spans := rcv.WaitSpans(t, 2*n, 20*time.Second)
	servers := map[string]otlptest.Span{}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindServer && strings.HasPrefix(s.Str("url.path"), "/caddy/") {
			servers[s.SpanID.String()] = s
		}
	}
	clients := 0
	for _, s := range spans {
		if s.Kind != ptrace.SpanKindClient {
			continue
		}
		parent, ok := servers[s.ParentID.String()]
		if !ok || parent.TraceID != s.TraceID {
			t.Errorf("client span %s %s is not a child of a server span", s.Name, s.Str("url.full"))
			continue
		}
		if s.Str("http.request.method") != "GET" || s.Int("http.response.status_code") != 200 || s.Str("url.full") == "" {
			t.Errorf("client span attributes: %v", s.Attrs)
		}
		clients++
	}
	if len(servers) != n || clients != n {
		t.Fatalf("%d server and %d client spans for %d requests (%d spans in all)", len(servers), clients, n, len(spans))
	}
	for _, s := range servers {
		if s.Str("http.request.method") != "GET" || s.Int("http.response.status_code") != 200 || s.Str("server.address") == "" && s.Str("url.path") == "" {
			t.Errorf("server span attributes: %v", s.Attrs)
		}
	}
	withTP := 0
	for len(seen) > 0 {
		if <-seen != "" {
			withTP++
		}
	}
	t.Logf("stripped Caddy %s: %d server spans, %d client spans as their children; %d of %d upstream requests carried a traceparent", caddyVersion, len(servers), clients, withTP, n)
}
