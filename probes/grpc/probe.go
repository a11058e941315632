package grpc

import (
	"debug/dwarf"
	"fmt"

	"github.com/cilium/ebpf"
	"golang.org/x/mod/semver"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
)

// Module is the library the probes instrument.
const Module = "google.golang.org/grpc"

// minVersion is the oldest grpc-go release whose internals the probes were
// checked against (every minor release from it to v1.85 has the same hook
// functions and fields; see the package's versions test).
const minVersion = "v1.60.0"

const (
	pkgGRPC      = "google.golang.org/grpc"
	pkgTransport = "google.golang.org/grpc/internal/transport"
	pkgStatus    = "google.golang.org/grpc/internal/status"
	pkgSpb       = "google.golang.org/genproto/googleapis/rpc/status"
)

// Hooked functions. The server's status write is an exported method of the
// transport up to v1.68 and an unexported one from v1.69 (when
// transport.ServerStream split from transport.Stream); the arguments are
// the same.
const (
	symHandleStream   = pkgGRPC + ".(*Server).handleStream"
	symWriteStatusOld = pkgTransport + ".(*http2Server).WriteStatus"
	symWriteStatus    = pkgTransport + ".(*http2Server).writeStatus"
	symCloseStream    = pkgTransport + ".(*http2Server).closeStream"
	symHandlerOld     = pkgTransport + ".(*serverHandlerTransport).WriteStatus"
	symHandler        = pkgTransport + ".(*serverHandlerTransport).writeStatus"
	symNewAttempt     = pkgGRPC + ".(*clientStream).newAttemptLocked"
	symFinish         = pkgGRPC + ".(*clientStream).finish"
)

func field(s, n string) offsets.Field { return offsets.Field{Struct: s, Name: n} }

// Fields read, by the probe that reads them. All are declared so that a
// table of offsets for stripped binaries can cover them.
var (
	streamCtx       = field(pkgTransport+".Stream", "ctx")
	streamMethod    = field(pkgTransport+".Stream", "method")
	serverStreamEmb = field(pkgTransport+".ServerStream", "Stream") // v1.69+
	valueCtxKey     = field("context.valueCtx", "key")
	h2sPeer         = field(pkgTransport+".http2Server", "peer")
	peerAddr        = field("google.golang.org/grpc/peer.Peer", "Addr")
	tcpAddrIP       = field("net.TCPAddr", "IP")
	tcpAddrPort     = field("net.TCPAddr", "Port")
	statusS         = field(pkgStatus+".Status", "s")
	spbCode         = field(pkgSpb+".Status", "Code")
	spbMessage      = field(pkgSpb+".Status", "Message")

	csCtx         = field(pkgGRPC+".clientStream", "ctx")
	csCallHdr     = field(pkgGRPC+".clientStream", "callHdr")
	csCC          = field(pkgGRPC+".clientStream", "cc")
	csFinished    = field(pkgGRPC+".clientStream", "finished")
	callHdrMethod = field(pkgTransport+".CallHdr", "Method")
	ccTarget      = field(pkgGRPC+".ClientConn", "target")
	ccAuthority   = field(pkgGRPC+".ClientConn", "authority")
	errorS        = field(pkgStatus+".Error", "s")
)

var (
	statusFields = []offsets.Field{statusS, spbCode, spbMessage}
	serverNeeds  = append([]offsets.Field{streamCtx, streamMethod}, statusFields...)
	serverMay    = []offsets.Field{serverStreamEmb, valueCtxKey, h2sPeer, peerAddr, tcpAddrIP, tcpAddrPort}
	clientNeeds  = append([]offsets.Field{csCtx, csCallHdr, csCC, csFinished, callHdrMethod, ccTarget, ccAuthority, errorS}, statusFields...)
)

// checkVersion refuses grpc releases older than minVersion; a version that
// is not semver (a replaced or locally built module) is let through to the
// field checks.
func checkVersion(t *probe.Target) (string, error) {
	v, _ := t.Bin.Module(Module)
	if semver.IsValid(v) && semver.Compare(v, minVersion) < 0 {
		return v, fmt.Errorf("unsupported grpc version %s: older than %s, the oldest checked: %w", v, minVersion, probe.ErrUnsupportedVersion)
	}
	return v, nil
}

// need checks that o holds every field of fs; the error names the first
// missing one.
func need(v string, o offsets.Table, fs []offsets.Field) error {
	for _, f := range fs {
		if _, ok := o[f]; !ok {
			return fmt.Errorf("unsupported grpc version %s: field %s: %w", v, f, probe.ErrUnsupportedVersion)
		}
	}
	return nil
}

// hasFunc reports whether the target has the function sym.
func hasFunc(t *probe.Target, sym string) bool {
	_, err := t.Bin.Func(sym)
	return err == nil
}

func statusVars(o offsets.Table) []probe.Var {
	return []probe.Var{
		{Name: "status_s_off", Value: o.Get(statusS)},
		{Name: "spb_code_off", Value: o.Get(spbCode)},
		{Name: "spb_message_off", Value: o.Get(spbMessage)},
	}
}

// runtimeType returns the runtime address of the type descriptor of the
// named Go type, from its DWARF entry (DW_AT_go_runtime_type, an offset
// from runtime.types in the Go releases tested, 1.22 and 1.26; a value
// past runtime.types is taken as an address), or 0. Type descriptors
// are not in the symbol table.
func runtimeType(t *probe.Target, name string) uint64 {
	if t.DWARF == nil {
		// Stripped: the descriptor a function that uses the type as a
		// context key references.
		return t.TypeDescriptor(name, mdKeyUsers...)
	}
	const attrGoRuntimeType = dwarf.Attr(0x2904)
	r := t.DWARF.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return 0
		}
		if e.Tag == dwarf.TagCompileUnit {
			continue
		}
		if n, _ := e.Val(dwarf.AttrName).(string); n == name {
			if v, ok := e.Val(attrGoRuntimeType).(uint64); ok && v != 0 {
				types, ok := t.Symbol("runtime.types")
				if !ok {
					return 0
				}
				if v >= types-t.Bias {
					return v + t.Bias // an address
				}
				return types + v
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
}

// mdKeyUsers are functions that pass mdIncomingKey{} to context.WithValue
// or ctx.Value (metadata/metadata.go; the transport where they are
// inlined).
var mdKeyUsers = []string{
	"google.golang.org/grpc/metadata.NewIncomingContext",
	"google.golang.org/grpc/metadata.FromIncomingContext",
	"google.golang.org/grpc/metadata.ValueFromIncomingContext",
	pkgTransport + ".(*http2Server).operateHeaders",
}

// memberKind returns the DWARF tag of the type of field f (a pointer, a
// struct, ...), following typedefs.
func memberKind(t *probe.Target, f offsets.Field) (dwarf.Tag, bool) {
	if t.DWARF == nil {
		return 0, false
	}
	r := t.DWARF.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			return 0, false
		}
		if e.Tag == dwarf.TagCompileUnit {
			continue
		}
		n, _ := e.Val(dwarf.AttrName).(string)
		if e.Tag != dwarf.TagStructType || n != f.Struct || !e.Children {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		for {
			m, err := r.Next()
			if err != nil || m == nil || m.Tag == 0 {
				return 0, false
			}
			if mn, _ := m.Val(dwarf.AttrName).(string); m.Tag != dwarf.TagMember || mn != f.Name {
				continue
			}
			off, ok := m.Val(dwarf.AttrType).(dwarf.Offset)
			if !ok {
				return 0, false
			}
			typ, err := t.DWARF.Type(off)
			if err != nil {
				return 0, false
			}
			for {
				td, ok := typ.(*dwarf.TypedefType)
				if !ok {
					break
				}
				typ = td.Type
			}
			switch typ.(type) {
			case *dwarf.PtrType:
				return dwarf.TagPointerType, true
			case *dwarf.StructType:
				return dwarf.TagStructType, true
			}
			return 0, true
		}
	}
}

// Server instruments grpc.Server: a SERVER span per RPC.
type Server struct{}

// Name implements probe.Probe.
func (Server) Name() string { return "gRPC server" }

// Library implements probe.Probe.
func (Server) Library() string { return Module }

// Spec implements probe.Probe.
func (Server) Spec() (*ebpf.CollectionSpec, error) { return loadServer() }

// Hooks implements probe.Probe. All are optional to the manager; Vars says
// which must be there.
func (Server) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: symHandleStream, Entry: "server_entry", Optional: true},
		{Symbol: symWriteStatusOld, Entry: "server_status", Optional: true},
		{Symbol: symWriteStatus, Entry: "server_status", Optional: true},
		{Symbol: symHandlerOld, Entry: "server_status", Optional: true},
		{Symbol: symHandler, Entry: "server_status", Optional: true},
		{Symbol: symCloseStream, Entry: "server_close", Optional: true},
	}
}

// Fields implements probe.Probe: all optional to the manager, so that Vars
// reports a missing one as an unsupported grpc version.
func (Server) Fields() (required, optional []offsets.Field) {
	return nil, append(append([]offsets.Field{}, serverNeeds...), serverMay...)
}

// Vars implements probe.Probe.
func (Server) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	if !hasFunc(t, symHandleStream) {
		return nil, fmt.Errorf("no grpc.Server in the target: %w", probe.ErrNotLinked)
	}
	v, err := checkVersion(t)
	if err != nil {
		return nil, err
	}
	if !hasFunc(t, symWriteStatus) && !hasFunc(t, symWriteStatusOld) {
		return nil, fmt.Errorf("unsupported grpc version %s: no function %s or %s: %w", v, symWriteStatus, symWriteStatusOld, probe.ErrUnsupportedVersion)
	}
	if !hasFunc(t, symCloseStream) {
		return nil, fmt.Errorf("unsupported grpc version %s: no function %s: %w", v, symCloseStream, probe.ErrUnsupportedVersion)
	}
	if err := need(v, o, serverNeeds); err != nil {
		return nil, err
	}
	// handleStream takes a *ServerStream from v1.69, which embeds a *Stream
	// up to v1.76 and a Stream from v1.77; a *Stream before.
	_, split := o[serverStreamEmb]
	if !split && hasFunc(t, symWriteStatus) {
		return nil, fmt.Errorf("unsupported grpc version %s: field %s: %w", v, serverStreamEmb, probe.ErrUnsupportedVersion)
	}
	ptr := false
	if split {
		kind, ok := memberKind(t, serverStreamEmb)
		if t.DWARF == nil && semver.IsValid(v) {
			// No DWARF to tell: the embedding is *Stream up to v1.76 and
			// Stream from v1.77 (versions test).
			kind, ok = dwarf.TagPointerType, true
			if semver.Compare(v, "v1.77.0") >= 0 {
				kind = dwarf.TagStructType
			}
		}
		if !ok || (kind != dwarf.TagPointerType && kind != dwarf.TagStructType) {
			return nil, fmt.Errorf("unsupported grpc version %s: field %s: not a Stream or *Stream: %w", v, serverStreamEmb, probe.ErrUnsupportedVersion)
		}
		ptr = kind == dwarf.TagPointerType
	}
	vars := []probe.Var{
		{Name: "server_stream_off", Value: o.Get(serverStreamEmb)},
		{Name: "server_stream_ptr", Value: ptr},
		{Name: "stream_ctx_off", Value: o.Get(streamCtx)},
		{Name: "stream_method_off", Value: o.Get(streamMethod)},
		{Name: "md_incoming_key_type", Value: runtimeType(t, "google.golang.org/grpc/metadata.mdIncomingKey")},
	}
	if off, ok := o[valueCtxKey]; ok {
		vars = append(vars, probe.Var{Name: "value_ctx_key_off", Value: off})
	}
	// The peer address is best effort: without its fields it is left out.
	if err := need(v, o, []offsets.Field{h2sPeer, peerAddr, tcpAddrIP, tcpAddrPort}); err == nil {
		vars = append(vars,
			probe.Var{Name: "itab_http2_server", Value: t.Itab("*"+pkgTransport+".http2Server", pkgTransport+".ServerTransport")},
			probe.Var{Name: "h2s_peer_addr_off", Value: o.Get(h2sPeer) + o.Get(peerAddr)},
			probe.Var{Name: "itab_tcp_addr", Value: t.Itab("*net.TCPAddr", "net.Addr")},
			probe.Var{Name: "tcp_addr_ip_off", Value: o.Get(tcpAddrIP)},
			probe.Var{Name: "tcp_addr_port_off", Value: o.Get(tcpAddrPort)},
		)
	}
	return append(vars, statusVars(o)...), nil
}

// kernelFixtures are the programs of this package's kernel-matrix tests
// (TestUnprivileged runs cmd/sonde).
var kernelFixtures = map[string]string{"grpcapp": "./probes/grpc/testdata/grpcapp", "sonde": "./cmd/sonde"}

// KernelTests implements probe.Probe.
func (Server) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestSpans", "TestSpansOneProcess", "TestDecodeServer", "TestUnprivileged"}, Fixtures: kernelFixtures}
}

// Client instruments grpc.ClientConn: a CLIENT span per RPC, unary or
// streaming.
type Client struct{}

// Name implements probe.Probe.
func (Client) Name() string { return "gRPC client" }

// Library implements probe.Probe.
func (Client) Library() string { return Module }

// Spec implements probe.Probe.
func (Client) Spec() (*ebpf.CollectionSpec, error) { return loadClient() }

// Hooks implements probe.Probe.
func (Client) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: symNewAttempt, Entry: "client_entry", Optional: true},
		{Symbol: symFinish, Entry: "client_finish", Optional: true},
	}
}

// Fields implements probe.Probe.
func (Client) Fields() (required, optional []offsets.Field) {
	return nil, append([]offsets.Field{}, clientNeeds...)
}

// Vars implements probe.Probe.
func (Client) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	if !hasFunc(t, symNewAttempt) && !hasFunc(t, symFinish) {
		return nil, fmt.Errorf("no grpc client stream in the target: %w", probe.ErrNotLinked)
	}
	v, err := checkVersion(t)
	if err != nil {
		return nil, err
	}
	for _, s := range []string{symNewAttempt, symFinish} {
		if !hasFunc(t, s) {
			return nil, fmt.Errorf("unsupported grpc version %s: no function %s: %w", v, s, probe.ErrUnsupportedVersion)
		}
	}
	if err := need(v, o, clientNeeds); err != nil {
		return nil, err
	}
	eof, _ := t.ErrorVar("io.EOF")
	return append([]probe.Var{
		{Name: "cs_ctx_off", Value: o.Get(csCtx)},
		{Name: "cs_callhdr_off", Value: o.Get(csCallHdr)},
		{Name: "cs_cc_off", Value: o.Get(csCC)},
		{Name: "cs_finished_off", Value: o.Get(csFinished)},
		{Name: "callhdr_method_off", Value: o.Get(callHdrMethod)},
		{Name: "cc_target_off", Value: o.Get(ccTarget)},
		{Name: "cc_authority_off", Value: o.Get(ccAuthority)},
		{Name: "itab_status_error", Value: t.Itab("*"+pkgStatus+".Error", "error")},
		{Name: "status_error_s_off", Value: o.Get(errorS)},
		{Name: "io_eof_addr", Value: eof},
	}, statusVars(o)...), nil
}

// KernelTests implements probe.Probe.
func (Client) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestProbeHits", "TestCancel", "TestDecodeClient"}, Fixtures: kernelFixtures}
}
