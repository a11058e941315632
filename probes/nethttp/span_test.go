package nethttp

import (
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

func TestRouteOf(t *testing.T) {
	for pattern, want := range map[string]string{
		"GET /todos/{id}":             "/todos/{id}",
		"/fail":                       "/fail",
		"POST example.com/items/{id}": "/items/{id}",
		"example.com/":                "/",
		"":                            "",
	} {
		if got := routeOf(pattern); got != want {
			t.Errorf("routeOf(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	for _, c := range []struct {
		in, scheme, host string
		port             int
	}{
		{"127.0.0.1:8080", "http", "127.0.0.1", 8080},
		{"example.com", "http", "example.com", 80},
		{"example.com", "https", "example.com", 443},
		{"[::1]:9", "", "::1", 9},
		{"[::1]", "https", "::1", 443},
		{"", "http", "", 0},
	} {
		h, p := splitHostPort(c.in, c.scheme)
		if h != c.host || p != c.port {
			t.Errorf("splitHostPort(%q, %q) = %q, %d", c.in, c.scheme, h, p)
		}
	}
}

func bytesOf[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func TestDecodeServer(t *testing.T) {
	var ev serverHttpServerEvent
	ev.Hdr.Kind = 1
	ev.Hdr.StartNs, ev.Hdr.EndNs = 1_000_000, 3_500_000
	ev.Hdr.Sc.TraceId = [16]byte{1, 2, 3}
	ev.Hdr.Sc.SpanId = [8]byte{4}
	ev.Hdr.Parent.TraceId = [16]byte{1, 2, 3}
	ev.Hdr.Parent.SpanId = [8]byte{9}
	ev.Hdr.ParentRemote = 1
	ev.Status = 503
	ev.ProtoMajor, ev.ProtoMinor = 2, 0
	ev.Tls = 1
	copy(ev.Method[:], "BREW\x00")
	copy(ev.Path[:], "/pot\x00")
	ev.PathLen = 999
	copy(ev.Route[:], "/pot\x00")
	copy(ev.Host[:], "tea.example\x00")
	copy(ev.Remote[:], "10.1.2.3:5555\x00")
	s, err := decodeServer(bytesOf(&ev), pipeline.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "HTTP /pot" || s.SpanKind != trace.SpanKindServer {
		t.Errorf("name %q kind %v", s.Name, s.SpanKind)
	}
	if !s.Parent.IsRemote() || s.Parent.SpanID() != (trace.SpanID{9}) || s.SpanContext.TraceID() != (trace.TraceID{1, 2, 3}) {
		t.Errorf("parent %v sc %v", s.Parent, s.SpanContext)
	}
	if d := s.EndTime.Sub(s.StartTime); d.Microseconds() != 2500 {
		t.Errorf("duration %v", d)
	}
	if s.Status.Code != codes.Error {
		t.Errorf("status %v for 503", s.Status)
	}
	want := map[string]string{
		"http.request.method":          "_OTHER",
		"http.request.method_original": "BREW",
		"url.scheme":                   "https",
		"network.protocol.version":     "2",
		"server.address":               "tea.example",
		"network.peer.address":         "10.1.2.3",
		"error.type":                   "503",
	}
	got := map[string]string{}
	for _, kv := range s.Attributes {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got["server.port"] != "443" || got["sonde.url.path.truncated"] != "true" {
		t.Errorf("server.port %q truncated %q", got["server.port"], got["sonde.url.path.truncated"])
	}
	if _, err := decodeServer(bytesOf(&ev)[:100], pipeline.NewClock()); err == nil {
		t.Error("short record decoded")
	}
}

func TestDecodeClientError(t *testing.T) {
	var ev clientHttpClientEvent
	ev.Hdr.Kind = 2
	ev.Hdr.Sc.TraceId = [16]byte{1}
	ev.Hdr.Sc.SpanId = [8]byte{2}
	ev.ErrTab = 0x1234
	copy(ev.Method[:], "GET\x00")
	copy(ev.Scheme[:], "http\x00")
	copy(ev.Host[:], "example.com:81\x00")
	copy(ev.Path[:], "/a b\x00")
	copy(ev.Query[:], "q=1\x00")
	s, err := decodeClient(bytesOf(&ev), pipeline.NewClock(), func(a, _ uint64) string {
		if a == 0x1234 {
			return "net.OpError"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range s.Attributes {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	if got["url.full"] != "http://example.com:81/a%20b?q=1" || got["error.type"] != "net.OpError" || got["server.port"] != "81" {
		t.Errorf("attributes %v", got)
	}
	if s.Status.Code != codes.Error || s.Name != "GET" || s.Parent.IsValid() {
		t.Errorf("status %v name %q parent %v", s.Status, s.Name, s.Parent)
	}
}

// TestDecodeServerNUL: a path with an embedded NUL (%00) is kept whole.
func TestDecodeServerNUL(t *testing.T) {
	var ev serverHttpServerEvent
	ev.Hdr.Sc.TraceId, ev.Hdr.Sc.SpanId = [16]byte{1}, [8]byte{2}
	copy(ev.Method[:], "GET")
	p := "/case/nul\x00after"
	copy(ev.Path[:], p)
	ev.PathLen = uint32(len(p))
	s, err := decodeServer(bytesOf(&ev), pipeline.NewClock())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range s.Attributes {
		if kv.Key == "url.path" && kv.Value.AsString() != p {
			t.Errorf("url.path %q, want %q", kv.Value.AsString(), p)
		}
	}
}
