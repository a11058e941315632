package grpc

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
	"github.com/sonde-go/auto/internal/probe"
)

// codeNames are the gRPC status codes as rpc.response.status_code spells
// them (the names of the google.rpc.Code enum).
var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
	"ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
	"ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
	"UNAUTHENTICATED",
}

const (
	codeOK               = 0
	codeCanceled         = 1
	codeUnknown          = 2
	codeDeadlineExceeded = 4
	codeResourceExhaust  = 8
	codePermissionDenied = 7
	codeUnimplemented    = 12
	codeInternal         = 13
	codeUnavailable      = 14
	codeDataLoss         = 15
)

func codeName(c int32) string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return strconv.Itoa(int(c))
}

// serverFault reports the codes a server span is an error for (the RPC
// semantic conventions for gRPC): the others are the caller's doing.
func serverFault(c int32) bool {
	switch c {
	case codeUnknown, codeDeadlineExceeded, codeUnimplemented, codeInternal, codeUnavailable, codeDataLoss:
		return true
	}
	return false
}

// HTTP/2 error codes of a stream reset (RFC 9113, section 7).
const (
	h2Cancel          = 0x8
	h2RefusedStream   = 0x7
	h2FlowControl     = 0x3
	h2EnhanceYourCalm = 0xb
	h2InadequateSec   = 0xc
)

// resetCode is the status of a server stream closed before its status was
// written: the client's reset cancels it; the server's own reset with
// CANCEL is its deadline timer; others follow grpc-go's HTTP/2 error
// mapping.
func resetCode(byServer bool, h2 uint32) (int32, string) {
	if !byServer {
		return codeCanceled, "stream reset by the client"
	}
	switch h2 {
	case h2Cancel:
		return codeDeadlineExceeded, "deadline exceeded: stream reset by the server"
	case h2RefusedStream:
		return codeUnavailable, "stream refused by the server"
	case h2FlowControl, h2EnhanceYourCalm:
		return codeResourceExhaust, "stream reset by the server: HTTP/2 error " + strconv.Itoa(int(h2))
	case h2InadequateSec:
		return codePermissionDenied, "stream reset by the server: HTTP/2 error " + strconv.Itoa(int(h2))
	}
	return codeInternal, "stream reset by the server: HTTP/2 error " + strconv.Itoa(int(h2))
}

// method splits a full method name "/pkg.Service/Method" into the span
// name and rpc.method ("pkg.Service/Method"); ok is false when it is not of
// that form.
func method(full string, truncated bool) (string, bool) {
	m, found := strings.CutPrefix(full, "/")
	i := strings.LastIndexByte(m, '/')
	if !found || truncated || i <= 0 || i == len(m)-1 {
		return full, false
	}
	return m, true
}

// rpcAttrs returns the span name and the attributes common to both sides.
func rpcAttrs(full string, truncated bool, code int32) (string, []attribute.KeyValue) {
	attrs := []attribute.KeyValue{semconv.RPCSystemNameGRPC}
	name, ok := method(full, truncated)
	if ok {
		attrs = append(attrs, semconv.RPCMethod(name))
	} else {
		// Not a method grpc recognizes: rpc.method is _OTHER.
		name = "grpc"
		attrs = append(attrs, semconv.RPCMethodKey.String("_OTHER"), semconv.RPCMethodOriginal(full))
	}
	return name, append(attrs, semconv.RPCResponseStatusCode(codeName(code)))
}

// decodeServer turns one server event into a SERVER span.
func decodeServer(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	var ev serverGrpcServerEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindServer)
	withTraceState(&s, ev.Tracestate[:], ev.TracestateLen)

	code, msg := ev.Code, pipeline.CString(ev.Message[:])
	if ev.End == uint8(serverGrpcEndGRPC_END_RESET) {
		code, msg = resetCode(ev.Rst != 0, ev.RstCode)
	}
	full := pipeline.CString(ev.Method[:])
	name, attrs := rpcAttrs(full, int(ev.MethodLen) > len(full), code)
	if ip := peerIP(ev.PeerIp[:], ev.PeerIpLen); ip != "" {
		attrs = append(attrs, semconv.NetworkPeerAddress(ip))
		if ev.PeerPort > 0 {
			attrs = append(attrs, semconv.NetworkPeerPort(int(ev.PeerPort)))
		}
	}
	if serverFault(code) {
		attrs = append(attrs, semconv.ErrorTypeKey.String(codeName(code)))
		s.Status = sdktrace.Status{Code: codes.Error, Description: msg}
	}
	s.Name, s.Attributes = name, attrs
	return s, nil
}

// decodeClient turns one client event into a CLIENT span. errType names
// the concrete type of an error from its itab address.
func decodeClient(raw []byte, clk *pipeline.Clock, errType func(uint64) string) (tracetest.SpanStub, error) {
	var ev clientGrpcClientEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindClient)

	code, msg := ev.Code, pipeline.CString(ev.Message[:])
	errorType := ""
	if code < 0 {
		// An error that is no status: grpc reports it as UNKNOWN.
		code = codeUnknown
		if errorType = errType(ev.ErrTab); errorType == "" {
			errorType = semconv.ErrorTypeOther.Value.AsString()
		}
	}
	full := pipeline.CString(ev.Method[:])
	name, attrs := rpcAttrs(full, int(ev.MethodLen) > len(full), code)
	if host, port := serverAddr(pipeline.CString(ev.Authority[:]), pipeline.CString(ev.Target[:])); host != "" {
		attrs = append(attrs, semconv.ServerAddress(host))
		if port > 0 {
			attrs = append(attrs, semconv.ServerPort(port))
		}
	}
	if code != codeOK {
		if errorType == "" {
			errorType = codeName(code)
		}
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType))
		s.Status = sdktrace.Status{Code: codes.Error, Description: msg}
	}
	s.Name, s.Attributes = name, attrs
	return s, nil
}

// withTraceState gives the span and its remote parent the caller's
// tracestate (n bytes of b), when it parses.
func withTraceState(s *tracetest.SpanStub, b []byte, n uint32) {
	if n == 0 || !s.Parent.IsRemote() || int(n) >= len(b) {
		return // none, or cut: a partial tracestate is dropped
	}
	ts, err := trace.ParseTraceState(string(b[:n]))
	if err != nil {
		return
	}
	s.Parent = s.Parent.WithTraceState(ts)
	s.SpanContext = s.SpanContext.WithTraceState(ts)
}

func peerIP(b []byte, n uint8) string {
	if n != 4 && n != 16 {
		return ""
	}
	return net.IP(b[:n]).String()
}

// serverAddr returns server.address and server.port from the ClientConn's
// authority ("host:port"), else from its target ("dns:///host:port").
func serverAddr(authority, target string) (string, int) {
	if path, ok := strings.CutPrefix(target, "unix:"); ok && authority == "" {
		return strings.TrimPrefix(path, "//"), 0 // unix:///path, unix:path
	}
	hp := authority
	if hp == "" {
		hp = target
		if i := strings.Index(hp, "://"); i >= 0 {
			hp = hp[i+3:]
			if j := strings.IndexByte(hp, '/'); j >= 0 {
				hp = hp[j+1:] // the endpoint after the (often empty) authority
			}
		}
	}
	host, p, err := net.SplitHostPort(hp)
	if err != nil {
		return strings.Trim(hp, "[]"), 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

// Decoders implements probe.Probe.
func (Server) Decoders(*probe.Target) map[string]pipeline.Decoder {
	return map[string]pipeline.Decoder{"grpc_server": decodeServer}
}

// Decoders implements probe.Probe.
func (Client) Decoders(t *probe.Target) map[string]pipeline.Decoder {
	return map[string]pipeline.Decoder{"grpc_client": func(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
		return decodeClient(raw, clk, t.ItabType)
	}}
}
