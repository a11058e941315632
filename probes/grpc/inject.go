package grpc

import (
	"debug/dwarf"
	"encoding/binary"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
)

// Hooked by Inject: the loopy writer's handling of a new client stream's
// headers (v1.83+), and its predecessor.
const (
	symClientHeaders   = pkgTransport + ".(*loopyWriter).clientHeaderHandler"
	symOriginateStream = pkgTransport + ".(*loopyWriter).originateStream"
	// symCleanup is NewStream's cleanup closure (func1 from v1.60 to
	// v1.85), whose only capture is the transport stream.
	symCleanup = pkgTransport + ".(*http2Client).NewStream.func1"
)

const pkgHpack = "golang.org/x/net/http2/hpack"

var (
	clientHeadersHf       = field(pkgTransport+".clientHeaders", "hf")
	clientHeadersOrphaned = field(pkgTransport+".clientHeaders", "onOrphaned")
	headerFrameHf         = field(pkgTransport+".headerFrame", "hf")
	headerFrameOrphaned   = field(pkgTransport+".headerFrame", "onOrphaned")
	clientStreamEmb       = field(pkgTransport+".ClientStream", "Stream") // v1.69+
	hfName                = field(pkgHpack+".HeaderField", "Name")
	hfValue               = field(pkgHpack+".HeaderField", "Value")
	hfSize                = field(pkgHpack+".HeaderField", offsets.SizeName)
)

// The arena layout inject.c uses: a magic, the key "traceparent", then
// 256 blocks of 4 KiB.
const (
	arenaKeyOff = 16
	arenaSize   = 4096 + 256*4096
)

var arenaMagic = [16]byte{'s', 'o', 'n', 'd', 'e', ' ', 'g', 'r', 'p', 'c', ' ', 'v', '1'}

// Inject propagates the trace context of gRPC client spans to the server
// they call: it adds a traceparent field to each RPC's outgoing headers
// with bpf_probe_write_user, so it loads only on kernels that allow that
// helper (not in lockdown), after the Client probe. One more probe hit per
// client RPC. An RPC that already carries a traceparent is left alone.
type Inject struct{}

// Name implements probe.Probe.
func (Inject) Name() string { return "gRPC client propagation" }

// Library implements probe.Probe.
func (Inject) Library() string { return Module }

// Spec implements probe.Probe.
func (Inject) Spec() (*ebpf.CollectionSpec, error) { return loadInject() }

// Hooks implements probe.Probe: one of the two is in a binary.
func (Inject) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: symClientHeaders, Entry: "inject_md", Optional: true},
		{Symbol: symOriginateStream, Entry: "inject_md", Optional: true},
	}
}

// Fields implements probe.Probe.
func (Inject) Fields() (required, optional []offsets.Field) {
	return nil, []offsets.Field{clientHeadersHf, clientHeadersOrphaned, headerFrameHf, headerFrameOrphaned,
		clientStreamEmb, streamCtx, hfName, hfValue, hfSize}
}

// Vars implements probe.Probe. It refuses kernels where
// bpf_probe_write_user cannot be loaded and layouts inject.c does not
// know.
func (Inject) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	if !hasFunc(t, symNewAttempt) {
		return nil, fmt.Errorf("no grpc client stream in the target: %w", probe.ErrNotLinked)
	}
	if t.Facts != nil && t.Facts.WriteUser != nil {
		return nil, fmt.Errorf("bpf_probe_write_user unavailable: %w", t.Facts.WriteUser)
	}
	v, err := checkVersion(t)
	if err != nil {
		return nil, err
	}
	hf, orphaned, arg := clientHeadersHf, clientHeadersOrphaned, 2
	if !hasFunc(t, symClientHeaders) {
		if !hasFunc(t, symOriginateStream) {
			return nil, fmt.Errorf("unsupported grpc version %s: no function %s or %s: %w", v, symClientHeaders, symOriginateStream, probe.ErrUnsupportedVersion)
		}
		hf, orphaned, arg = headerFrameHf, headerFrameOrphaned, 3
	}
	if err := need(v, o, []offsets.Field{hf, orphaned, streamCtx, hfName, hfValue, hfSize}); err != nil {
		return nil, err
	}
	if o.Get(hfName) != 0 || o.Get(hfValue) != 16 || o.Get(hfSize) != 40 {
		return nil, fmt.Errorf("unsupported grpc version %s: hpack.HeaderField is not {Name, Value string; Sensitive bool}: %w", v, probe.ErrUnsupportedVersion)
	}
	cleanup, ok := t.Symbol(symCleanup)
	if !ok {
		return nil, fmt.Errorf("unsupported grpc version %s: no function %s: %w", v, symCleanup, probe.ErrUnsupportedVersion)
	}
	// The transport stream is a *Stream up to v1.68, then a *ClientStream
	// embedding a *Stream (v1.69-v1.76) or a Stream (v1.77+).
	emb, ptr := uint64(0), false
	if off, split := o[clientStreamEmb]; split {
		kind, ok := memberKind(t, clientStreamEmb)
		if !ok || (kind != dwarf.TagStructType && kind != dwarf.TagPointerType) {
			return nil, fmt.Errorf("unsupported grpc version %s: field %s: not a Stream or *Stream: %w", v, clientStreamEmb, probe.ErrUnsupportedVersion)
		}
		emb, ptr = off, kind == dwarf.TagPointerType
	}
	return []probe.Var{
		{Name: "hdr_hf_off", Value: o.Get(hf)},
		{Name: "hdr_orphaned_off", Value: o.Get(orphaned)},
		{Name: "hdr_arg", Value: uint64(arg)},
		{Name: "cleanup_fn", Value: cleanup},
		{Name: "cstream_emb_off", Value: emb},
		{Name: "cstream_ptr", Value: ptr},
		{Name: "cstream_ctx_off", Value: o.Get(streamCtx)},
		{Name: "arena_base", Value: process.ArenaAddr(process.ArenaGRPC)},
		{Name: "arena_magic0", Value: binary.LittleEndian.Uint64(arenaMagic[:8])},
		{Name: "arena_magic1", Value: binary.LittleEndian.Uint64(arenaMagic[8:])},
	}, nil
}

// Decoders implements probe.Probe: Inject emits no events.
func (Inject) Decoders(*probe.Target) map[string]pipeline.Decoder { return nil }

// Attached implements probe.Attacher: it maps the arena the added fields
// live in and marks it ready. A failure leaves propagation off (said
// once) and the spans on.
func (Inject) Attached(t *probe.Target) error {
	if err := readyArena(t.PID); err != nil {
		t.Logger.Info("gRPC: outgoing trace context propagation is off: no scratch memory in the target", "reason", err.Error())
		return nil
	}
	t.Logger.Info("gRPC: client RPCs without a traceparent get one in their metadata (bpf_probe_write_user)")
	return nil
}

// readyArena maps the arena into pid, or finds the one an earlier Sonde
// mapped.
func readyArena(pid int) error {
	return process.ReadyArena(pid, process.ArenaAddr(process.ArenaGRPC), arenaSize, arenaMagic, arenaKeyOff, "traceparent")
}

// Attached implements probe.Attacher for the client: under lockdown it
// says once that RPCs go out without a traceparent from Sonde.
func (Client) Attached(t *probe.Target) error {
	if t.Facts != nil && t.Facts.WriteUser != nil {
		t.Logger.Info("gRPC: outgoing trace context propagation is off (bpf_probe_write_user refused): client RPCs get no traceparent from Sonde; servers continue the app's own traceparent metadata",
			"reason", t.Facts.WriteUser.Error())
	}
	return nil
}

// KernelTests implements probe.Probe: the VMs allow bpf_probe_write_user.
func (Inject) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestPropagation"}, Fixtures: kernelFixtures}
}
