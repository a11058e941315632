package nethttp

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// The HTTP/2 server of golang.org/x/net/http2 (what h2c.NewHandler and
// http2.Server.ServeConn use) runs each request stream's handler in
// (*serverConn).runHandler (server.go), with its own responseWriter.
const xh2RunHandler = "golang.org/x/net/http2.(*serverConn).runHandler"

var (
	xh2RWState   = field("golang.org/x/net/http2.responseWriter", "rws")
	xh2RWSStatus = field("golang.org/x/net/http2.responseWriterState", "status")
)

// XNetHTTP2Server instruments the golang.org/x/net/http2 server: one
// SERVER span per request stream, as Server gives for net/http's own
// servers (the h2c connection preface, which net/http hands to the h2c
// handler as a "PRI" request, is no span).
type XNetHTTP2Server struct{}

// Name implements probe.Probe.
func (XNetHTTP2Server) Name() string { return "x/net/http2 server" }

// Library implements probe.Probe.
func (XNetHTTP2Server) Library() string { return "golang.org/x/net" }

// Spec implements probe.Probe: Server's programs, attached elsewhere.
func (XNetHTTP2Server) Spec() (*ebpf.CollectionSpec, error) { return loadServer() }

// Hooks implements probe.Probe.
func (XNetHTTP2Server) Hooks() []probe.Hook {
	return []probe.Hook{{Symbol: xh2RunHandler, Entry: "xh2_entry", Return: "server_return"}}
}

// Fields implements probe.Probe.
func (XNetHTTP2Server) Fields() (required, optional []offsets.Field) {
	required, optional = Server{}.Fields()
	return append(required, xh2RWState, xh2RWSStatus), optional
}

// Vars implements probe.Probe.
func (XNetHTTP2Server) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	vars, err := Server{}.Vars(t, o)
	if err != nil {
		return nil, fmt.Errorf("x/net/http2 server: %w", err)
	}
	return append(vars,
		probe.Var{Name: "xh2_rw_rws_off", Value: o.Get(xh2RWState)},
		probe.Var{Name: "xh2_rws_status_off", Value: o.Get(xh2RWSStatus)},
	), nil
}

// Decoders implements probe.Probe.
func (XNetHTTP2Server) Decoders(t *probe.Target) map[string]pipeline.Decoder {
	return Server{}.Decoders(t)
}

// Annotators implements probe.Annotators.
func (XNetHTTP2Server) Annotators(t *probe.Target) map[string]pipeline.Annotator {
	return Server{}.Annotators(t)
}

// KernelTests implements probe.Probe.
func (XNetHTTP2Server) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestH2C"}, Fixtures: map[string]string{"h2c": "./probes/nethttp/testdata/h2c"}}
}
