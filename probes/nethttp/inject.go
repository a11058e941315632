package nethttp

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

const (
	requestWriteSymbol = "net/http.(*Request).write"
	writeSubsetSymbol  = "net/http.Header.writeSubset"
)

var (
	bufioWriterBuf = field("bufio.Writer", "buf")
	bufioWriterN   = field("bufio.Writer", "n")
)

// Inject propagates the trace context of net/http client spans to the
// server they call: it writes a traceparent header into the request's
// bytes with bpf_probe_write_user, so it loads only on kernels that allow
// that helper (not in lockdown). It needs the Client probe, loaded first.
// A request that already carries a traceparent is left alone.
type Inject struct{}

// Name implements probe.Probe.
func (Inject) Name() string { return "net/http client propagation" }

// Library implements probe.Probe.
func (Inject) Library() string { return "std" }

// Spec implements probe.Probe.
func (Inject) Spec() (*ebpf.CollectionSpec, error) { return loadInject() }

// Hooks implements probe.Probe.
func (Inject) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: requestWriteSymbol, Entry: "inject_request"},
		{Symbol: writeSubsetSymbol, Entry: "inject_headers"},
	}
}

// Fields implements probe.Probe.
func (Inject) Fields() (required, optional []offsets.Field) {
	return []offsets.Field{reqHeader, reqURL, bufioWriterBuf, bufioWriterN}, nil
}

// Vars implements probe.Probe. It refuses kernels where
// bpf_probe_write_user cannot be loaded, and binaries whose *bufio.Writer
// io.Writer itab is unknown (stripped symbol table).
func (Inject) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	if t.Facts != nil && t.Facts.WriteUser != nil {
		return nil, fmt.Errorf("bpf_probe_write_user unavailable: %w", t.Facts.WriteUser)
	}
	if mode, err := propagationMode(t); err != nil {
		return nil, err
	} else if mode != PropagationUprobe {
		return nil, fmt.Errorf("%s=%s: %w", EnvPropagation, mode, probe.ErrDisabled)
	}
	itab := t.Itab("*bufio.Writer", "io.Writer")
	if itab == 0 {
		return nil, fmt.Errorf("no io.Writer itab for *bufio.Writer in the symbol table")
	}
	return []probe.Var{
		{Name: "req_header_off", Value: o.Get(reqHeader)},
		{Name: "req_url_off", Value: o.Get(reqURL)},
		{Name: "bufio_writer_buf_off", Value: o.Get(bufioWriterBuf)},
		{Name: "bufio_writer_n_off", Value: o.Get(bufioWriterN)},
		{Name: "itab_bufio_writer", Value: itab},
	}, nil
}

// Settings implements probe.Configurable.
func (Inject) Settings() []probe.Setting { return propagationSettings }

// Decoders implements probe.Probe: Inject emits no events.
func (Inject) Decoders(*probe.Target) map[string]pipeline.Decoder { return nil }

// KernelTests implements probe.Probe: the VMs allow bpf_probe_write_user.
func (Inject) KernelTests() probe.KernelTests {
	return probe.KernelTests{Tests: []string{"TestInjectRefusesNoWriteUser", "TestInjectTarget", "TestInjectPropagates"}, Fixtures: kernelFixtures, Short: true}
}
