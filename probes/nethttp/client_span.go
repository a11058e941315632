package nethttp

import (
	"net/url"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/pipeline"
)

// decodeClient turns one client event into a CLIENT span. errType names
// the concrete type of an error from its itab address.
func decodeClient(raw []byte, clk *pipeline.Clock, errType func(tab, data uint64) string) (tracetest.SpanStub, error) {
	var ev clientHttpClientEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindClient)

	method, attrs := requestMethod(make([]attribute.KeyValue, 0, 12), pipeline.CString(ev.Method[:]))
	u := url.URL{
		Scheme:   pipeline.CString(ev.Scheme[:]),
		Host:     pipeline.CString(ev.Host[:]),
		Path:     pipeline.CString(ev.Path[:]),
		RawQuery: pipeline.CString(ev.Query[:]),
	}
	attrs = append(attrs, semconv.URLFull(u.String()))
	if int(ev.PathLen) > len(u.Path) || int(ev.QueryLen) > len(u.RawQuery) {
		attrs = append(attrs, attribute.Bool("sonde.url.full.truncated", true))
	}
	if host, port := splitHostPort(u.Host, u.Scheme); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	switch {
	case ev.ErrTab != 0:
		typ := errType(ev.ErrTab, ev.ErrData)
		attrs = append(attrs, semconv.ErrorTypeKey.String(typ))
		s.Status = sdktrace.Status{Code: codes.Error}
	case ev.Status > 0:
		attrs = append(attrs,
			semconv.HTTPResponseStatusCode(int(ev.Status)),
			semconv.NetworkProtocolVersion(protoVersion(ev.ProtoMajor, ev.ProtoMinor)))
		if ev.Status >= 400 {
			attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(int(ev.Status))))
			s.Status = sdktrace.Status{Code: codes.Error}
		}
	}
	s.Name = method
	s.Attributes = attrs
	return s, nil
}
