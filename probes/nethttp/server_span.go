package nethttp

import (
	"net"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/pipeline"
)

// decodeServer turns one server event into a SERVER span.
func decodeServer(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	var ev serverHttpServerEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindServer)

	// Room for every attribute a server span can have: one allocation.
	method, attrs := requestMethod(make([]attribute.KeyValue, 0, 16), pipeline.CString(ev.Method[:]))
	route := routeOf(pipeline.CString(ev.Route[:]))
	// The path as long as the request's, embedded NULs (%00) included, up
	// to what was copied.
	n := min(int(ev.PathLen), len(ev.Path)-1)
	path := pipeline.Text(ev.Path[:n], int(ev.PathLen) > n)
	scheme := "http"
	if ev.Tls != 0 {
		scheme = "https"
	}
	attrs = append(attrs,
		semconv.URLPath(path),
		semconv.URLScheme(scheme),
		semconv.NetworkProtocolVersion(protoVersion(ev.ProtoMajor, ev.ProtoMinor)),
	)
	if int(ev.PathLen) > len(path) {
		attrs = append(attrs, attribute.Bool("sonde.url.path.truncated", true))
	}
	if route != "" {
		attrs = append(attrs, semconv.HTTPRoute(route))
	}
	status := int(ev.Status)
	if status == 0 {
		status = 200 // the handler wrote nothing: net/http sends 200
	}
	attrs = append(attrs, semconv.HTTPResponseStatusCode(status))
	if host, port := splitHostPort(pipeline.CString(ev.Host[:]), scheme); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if host, port := splitHostPort(pipeline.CString(ev.Remote[:]), ""); host != "" {
		attrs = append(attrs, semconv.NetworkPeerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(port))
		}
	}
	if ua := pipeline.CString(ev.UserAgent[:]); ua != "" {
		attrs = append(attrs, semconv.UserAgentOriginal(ua))
	}
	if status >= 500 {
		attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		s.Status = sdktrace.Status{Code: codes.Error}
	}
	s.Name = method
	if route != "" {
		s.Name = method + " " + route
	}
	s.Attributes = attrs
	return s, nil
}

// knownMethods are the methods semantic conventions name as such; others
// are reported as _OTHER with the original kept.
var knownMethods = map[string]bool{
	"CONNECT": true, "DELETE": true, "GET": true, "HEAD": true, "OPTIONS": true,
	"PATCH": true, "POST": true, "PUT": true, "TRACE": true, "QUERY": true,
}

// requestMethod returns the span name's method part, and attrs with the
// method attributes appended.
func requestMethod(attrs []attribute.KeyValue, m string) (string, []attribute.KeyValue) {
	if knownMethods[m] {
		return m, append(attrs, semconv.HTTPRequestMethodKey.String(m))
	}
	return "HTTP", append(attrs,
		semconv.HTTPRequestMethodKey.String("_OTHER"),
		semconv.HTTPRequestMethodOriginal(m),
	)
}

// routeOf returns the path part of a ServeMux pattern
// ("[METHOD ][HOST]/[PATH]"), or "" when there is none.
func routeOf(pattern string) string {
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		pattern = strings.TrimLeft(pattern[i:], " \t")
	}
	if i := strings.IndexByte(pattern, '/'); i >= 0 {
		return pattern[i:]
	}
	return ""
}

func protoVersion(major, minor uint8) string {
	if major >= 2 && minor == 0 {
		return strconv.Itoa(int(major))
	}
	return strconv.Itoa(int(major)) + "." + strconv.Itoa(int(minor))
}

// splitHostPort splits "host[:port]"; with a scheme and no port it returns
// the scheme's default port.
func splitHostPort(hp, scheme string) (string, int) {
	if hp == "" {
		return "", 0
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		host = strings.Trim(hp, "[]")
		switch scheme {
		case "http":
			return host, 80
		case "https":
			return host, 443
		}
		return host, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}
