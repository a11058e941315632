package grpc

import (
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

func bytesOf[T any](v *T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(v)), unsafe.Sizeof(*v))
}

func attrs(s tracetest.SpanStub) map[string]string {
	got := map[string]string{}
	for _, kv := range s.Attributes {
		got[string(kv.Key)] = kv.Value.Emit()
	}
	return got
}

func TestDecodeServer(t *testing.T) {
	var ev serverGrpcServerEvent
	ev.Hdr.StartNs, ev.Hdr.EndNs = 1_000_000, 3_000_000
	ev.Hdr.Sc.TraceId = [16]byte{1}
	ev.Hdr.Sc.SpanId = [8]byte{2}
	ev.Hdr.Parent.TraceId = [16]byte{1}
	ev.Hdr.Parent.SpanId = [8]byte{3}
	ev.Hdr.ParentRemote = 1
	copy(ev.Method[:], "/pkg.Svc/Get\x00")
	ev.MethodLen = 12
	copy(ev.Tracestate[:], "a=1,b=2")
	ev.TracestateLen = 7
	copy(ev.PeerIp[:], []byte{10, 0, 0, 7})
	ev.PeerIpLen, ev.PeerPort = 4, 5555
	for _, c := range []struct {
		code    int32
		name    string
		isError bool
	}{{0, "OK", false}, {5, "NOT_FOUND", false}, {16, "UNAUTHENTICATED", false}, {2, "UNKNOWN", true},
		{4, "DEADLINE_EXCEEDED", true}, {12, "UNIMPLEMENTED", true}, {13, "INTERNAL", true}, {14, "UNAVAILABLE", true}, {15, "DATA_LOSS", true}} {
		ev.Code = c.code
		copy(ev.Message[:], "why\x00")
		s, err := decodeServer(bytesOf(&ev), pipeline.NewClock())
		if err != nil {
			t.Fatal(err)
		}
		got := attrs(s)
		if s.Name != "pkg.Svc/Get" || s.SpanKind != trace.SpanKindServer || got["rpc.method"] != "pkg.Svc/Get" ||
			got["rpc.system.name"] != "grpc" || got["rpc.response.status_code"] != c.name ||
			got["network.peer.address"] != "10.0.0.7" || got["network.peer.port"] != "5555" {
			t.Errorf("code %d: name %q kind %v attributes %v", c.code, s.Name, s.SpanKind, got)
		}
		if (s.Status.Code == codes.Error) != c.isError || c.isError && (got["error.type"] != c.name || s.Status.Description != "why") {
			t.Errorf("code %d: status %v error.type %q", c.code, s.Status, got["error.type"])
		}
		if !s.Parent.IsRemote() || s.Parent.SpanID() != (trace.SpanID{3}) || s.Parent.TraceState().String() != "a=1,b=2" ||
			s.SpanContext.TraceState().String() != "a=1,b=2" {
			t.Errorf("parent %v, tracestate %q", s.Parent, s.SpanContext.TraceState())
		}
	}

	// Reset before a status.
	ev.End = uint8(serverGrpcEndGRPC_END_RESET)
	for _, c := range []struct {
		rst     uint8
		h2      uint32
		name    string
		isError bool
	}{{0, 0, "CANCELLED", false}, {1, 0x8, "DEADLINE_EXCEEDED", true}, {1, 0x7, "UNAVAILABLE", true}, {1, 0x3, "RESOURCE_EXHAUSTED", false}, {1, 0x1, "INTERNAL", true}} {
		ev.Rst, ev.RstCode = c.rst, c.h2
		s, _ := decodeServer(bytesOf(&ev), pipeline.NewClock())
		if got := attrs(s); got["rpc.response.status_code"] != c.name || (s.Status.Code == codes.Error) != c.isError {
			t.Errorf("reset %d/%d: %v status %v", c.rst, c.h2, got, s.Status)
		}
	}

	// Not a method name; no IP; a tracestate cut in BPF is dropped.
	ev = serverGrpcServerEvent{}
	copy(ev.Method[:], "oops\x00")
	ev.MethodLen = 4
	ev.TracestateLen = uint32(len(ev.Tracestate))
	s, _ := decodeServer(bytesOf(&ev), pipeline.NewClock())
	if got := attrs(s); s.Name != "grpc" || got["rpc.method"] != "_OTHER" || got["rpc.method_original"] != "oops" ||
		got["network.peer.address"] != "" || s.Parent.IsValid() || s.SpanContext.TraceState().Len() != 0 {
		t.Errorf("malformed method: name %q attributes %v", s.Name, got)
	}
	if _, err := decodeServer(bytesOf(&ev)[:100], pipeline.NewClock()); err == nil {
		t.Error("short record decoded")
	}
}

func TestDecodeClient(t *testing.T) {
	var ev clientGrpcClientEvent
	ev.Hdr.Sc.TraceId = [16]byte{1}
	ev.Hdr.Sc.SpanId = [8]byte{2}
	copy(ev.Method[:], "/pkg.Svc/Get\x00")
	ev.MethodLen = 12
	copy(ev.Target[:], "dns:///api.example:8443\x00")
	copy(ev.Authority[:], "api.example:8443\x00")
	errType := func(a uint64) string {
		if a == 0x1234 {
			return "*net.OpError"
		}
		return ""
	}
	for _, c := range []struct {
		code            int32
		tab             uint64
		status, errType string
	}{{0, 0, "OK", ""}, {5, 0, "NOT_FOUND", "NOT_FOUND"}, {1, 0, "CANCELLED", "CANCELLED"}, {-1, 0x1234, "UNKNOWN", "*net.OpError"}, {-1, 0x9, "UNKNOWN", "_OTHER"}} {
		ev.Code, ev.ErrTab = c.code, c.tab
		s, err := decodeClient(bytesOf(&ev), pipeline.NewClock(), errType)
		if err != nil {
			t.Fatal(err)
		}
		got := attrs(s)
		if s.Name != "pkg.Svc/Get" || s.SpanKind != trace.SpanKindClient || got["rpc.response.status_code"] != c.status ||
			got["server.address"] != "api.example" || got["server.port"] != "8443" || got["error.type"] != c.errType {
			t.Errorf("code %d: name %q attributes %v", c.code, s.Name, got)
		}
		if (s.Status.Code == codes.Error) != (c.status != "OK") {
			t.Errorf("code %d: status %v", c.code, s.Status)
		}
	}
}

func TestServerAddr(t *testing.T) {
	for _, c := range []struct {
		authority, target, host string
		port                    int
	}{
		{"localhost:50051", "localhost:50051", "localhost", 50051},
		{"", "dns:///example.com:443", "example.com", 443},
		{"", "passthrough:///10.0.0.1:9", "10.0.0.1", 9},
		{"[::1]:7", "", "::1", 7},
		{"", "unix:///tmp/s.sock", "/tmp/s.sock", 0},
		{"", "unix:rel.sock", "rel.sock", 0},
		{"svc", "", "svc", 0},
	} {
		if h, p := serverAddr(c.authority, c.target); h != c.host || p != c.port {
			t.Errorf("serverAddr(%q, %q) = %q, %d; want %q, %d", c.authority, c.target, h, p, c.host, c.port)
		}
	}
}
