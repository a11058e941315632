package nethttp

import (
	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

const serverSymbol = "net/http.serverHandler.ServeHTTP"

func field(s, n string) offsets.Field { return offsets.Field{Struct: s, Name: n} }

var (
	reqMethod     = field("net/http.Request", "Method")
	reqURL        = field("net/http.Request", "URL")
	reqProtoMajor = field("net/http.Request", "ProtoMajor")
	reqProtoMinor = field("net/http.Request", "ProtoMinor")
	reqHeader     = field("net/http.Request", "Header")
	reqHost       = field("net/http.Request", "Host")
	reqRemoteAddr = field("net/http.Request", "RemoteAddr")
	reqTLS        = field("net/http.Request", "TLS")
	reqCtx        = field("net/http.Request", "ctx")
	reqPattern    = field("net/http.Request", "Pattern") // Go 1.23+
	urlPath       = field("net/url.URL", "Path")
	respStatus    = field("net/http.response", "status")
	h2RWState     = field("net/http.http2responseWriter", "rws")
	h2RWSStatus   = field("net/http.http2responseWriterState", "status")
)

// Server instruments the net/http server.
type Server struct{}

// Name implements probe.Probe.
func (Server) Name() string { return "net/http server" }

// Library implements probe.Probe.
func (Server) Library() string { return "std" }

// Spec implements probe.Probe.
func (Server) Spec() (*ebpf.CollectionSpec, error) { return loadServer() }

// Hooks implements probe.Probe.
func (Server) Hooks() []probe.Hook {
	// Up to Go 1.26 serverHandler values never reach an interface in
	// net/http (a field of initALPNRequest and unencryptedHTTP2Request,
	// called directly): only reflection on those unexported types could
	// call its method table entry, so the returns may move to the call
	// sites. Go 1.27 passes it as a Handler: its itab is in data, which
	// keeps the rets whatever this says.
	return []probe.Hook{{Symbol: serverSymbol, Entry: "server_entry", Return: "server_return", MethodTable: true}}
}

// Fields implements probe.Probe.
func (Server) Fields() (required, optional []offsets.Field) {
	return []offsets.Field{reqMethod, reqURL, reqProtoMajor, reqProtoMinor, reqHeader, reqHost,
			reqRemoteAddr, reqTLS, reqCtx, urlPath, respStatus},
		[]offsets.Field{reqPattern, h2RWState, h2RWSStatus}
}

// Vars implements probe.Probe.
func (Server) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	_, hasPattern := o[reqPattern]
	vars := []probe.Var{
		{Name: "req_method_off", Value: o.Get(reqMethod)},
		{Name: "req_url_off", Value: o.Get(reqURL)},
		{Name: "req_proto_major_off", Value: o.Get(reqProtoMajor)},
		{Name: "req_proto_minor_off", Value: o.Get(reqProtoMinor)},
		{Name: "req_header_off", Value: o.Get(reqHeader)},
		{Name: "req_host_off", Value: o.Get(reqHost)},
		{Name: "req_remote_addr_off", Value: o.Get(reqRemoteAddr)},
		{Name: "req_tls_off", Value: o.Get(reqTLS)},
		{Name: "req_ctx_off", Value: o.Get(reqCtx)},
		{Name: "req_has_pattern", Value: hasPattern},
		{Name: "req_pattern_off", Value: o.Get(reqPattern)},
		{Name: "url_path_off", Value: o.Get(urlPath)},
		{Name: "response_status_off", Value: o.Get(respStatus)},
		{Name: "itab_h1_response", Value: t.Itab("*net/http.response", "net/http.ResponseWriter")},
		{Name: "req_window", Value: requestWindow(o)},
	}
	if _, ok := o[h2RWState]; ok {
		vars = append(vars,
			probe.Var{Name: "h2_rw_rws_off", Value: o.Get(h2RWState)},
			probe.Var{Name: "h2_rws_status_off", Value: o.Get(h2RWSStatus)},
			probe.Var{Name: "itab_h2_response", Value: t.Itab("*net/http.http2responseWriter", "net/http.ResponseWriter")},
		)
	}
	return vars, nil
}

// reqWindowMax is server.c's REQ_WINDOW_MAX.
const reqWindowMax = 512

// requestWindow is how many bytes from the start of a *Request hold every
// field the server entry reads (each is at most 16 bytes), or 0 when that
// is more than the entry copies at once (it then reads field by field).
func requestWindow(o offsets.Table) uint64 {
	var end uint64
	for _, f := range []offsets.Field{reqMethod, reqURL, reqProtoMajor, reqProtoMinor, reqHeader,
		reqHost, reqRemoteAddr, reqTLS, reqCtx} {
		end = max(end, o.Get(f)+16)
	}
	if end > reqWindowMax {
		return 0
	}
	return end
}

// Decoders implements probe.Probe.
func (Server) Decoders(*probe.Target) map[string]pipeline.Decoder {
	return map[string]pipeline.Decoder{"http_server": decodeServer}
}

// kernelFixtures are the fixture programs of this package's kernel-matrix
// tests.
var kernelFixtures = map[string]string{
	"server":    "./probes/nethttp/testdata/server",
	"fanout":    "./probes/nethttp/testdata/fanout",
	"propagate": "./probes/nethttp/testdata/propagate",
}

// KernelTests implements probe.Probe: perf-event uprobes on 6.1,
// uprobe_multi on 6.12.
func (Server) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestServerSpans"}, Fixtures: kernelFixtures, Short: true}
}
