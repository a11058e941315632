package sondesdk

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
)

// Module is the companion sdk's module path.
const Module = "github.com/sonde-go/auto/sdk"

// The sdk's hook functions (sdk/hooks.go): empty, never inlined.
const (
	annotateSymbol = Module + ".annotate"
	startedSymbol  = Module + ".spanStarted"
	endedSymbol    = Module + ".spanEnded"
)

// attachMagic starts the sdk's attach state (sdk.state): the agent finds
// it in the binary's data, symbols or not, and sets the uint32 after it.
var attachMagic = []byte("sonde-sdk-attach")

// errNoState reports a binary that links the sdk without its attach state.
var errNoState = errors.New("sdk attach state not found in the binary's data")

// Probe serves the companion sdk: the attributes, events, status and name
// app code sets through sdk.SpanFromContext on the eBPF span of its
// context or goroutine, and the spans of sdk.TracerProvider(). It tells
// the sdk it is attached by one write from user space at attach.
type Probe struct{}

// Name implements probe.Probe.
func (Probe) Name() string { return "Sonde sdk" }

// Library implements probe.Probe.
func (Probe) Library() string { return Module }

// Spec implements probe.Probe.
func (Probe) Spec() (*ebpf.CollectionSpec, error) { return loadSdk() }

// WriteSpec implements probe.WriteVariant: the same programs, which also
// write the exported trace ID of each TracerProvider span into the app.
func (Probe) WriteSpec() (*ebpf.CollectionSpec, error) { return loadSdkWrite() }

// Hooks implements probe.Probe.
func (Probe) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: annotateSymbol, Entry: "annotate_entry"},
		{Symbol: startedSymbol, Entry: "started_entry", Optional: true},
		{Symbol: endedSymbol, Entry: "ended_entry", Optional: true},
	}
}

// Fields implements probe.Probe: the probe reads no library struct.
func (Probe) Fields() (required, optional []offsets.Field) { return nil, nil }

// Vars implements probe.Probe.
func (Probe) Vars(*probe.Target, offsets.Table) ([]probe.Var, error) { return nil, nil }

// ContextSpanTypes implements probe.ContextSpans.
func (Probe) ContextSpanTypes() []probe.SpanType {
	return []probe.SpanType{{Type: "*" + Module + ".span", Iface: "go.opentelemetry.io/otel/trace.Span"}}
}

// Attached implements probe.Attacher: it sets the sdk's attached flag.
func (Probe) Attached(t *probe.Target) error {
	addr, err := stateAddr(t)
	if err != nil {
		return err
	}
	var one [4]byte
	one[0] = 1
	if err := process.WriteMemory(t.PID, addr+uint64(len(attachMagic)), one[:]); err != nil {
		return fmt.Errorf("telling the sdk it is attached: %w", err)
	}
	return nil
}

// stateAddr finds the runtime address of the sdk's attach state in the
// binary's initialized data.
func stateAddr(t *probe.Target) (uint64, error) {
	for _, s := range t.Bin.ELF().Sections {
		if s.Type != elf.SHT_PROGBITS || s.Flags&elf.SHF_WRITE == 0 || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		if i := bytes.Index(data, attachMagic); i >= 0 {
			return s.Addr + uint64(i) + t.Bias, nil
		}
	}
	return 0, errNoState
}

// Decoders implements probe.Probe.
func (Probe) Decoders(*probe.Target) map[string]pipeline.Decoder {
	return map[string]pipeline.Decoder{"sdk_span": decodeSpan}
}

// Annotators implements probe.Annotators.
func (Probe) Annotators(*probe.Target) map[string]pipeline.Annotator {
	return map[string]pipeline.Annotator{"sdk_annotation": decodeAnnotation}
}

// KernelTests implements probe.Probe.
func (Probe) KernelTests() probe.KernelTests {
	return probe.KernelTests{
		Tests:    []string{"TestAnnotations", "TestTracerProvider"},
		Fixtures: map[string]string{"sdkapp": "./probes/sondesdk/testdata/sdkapp"},
	}
}

// eventSize is the size of an event before its copied bytes.
var eventSize = int(unsafe.Sizeof(sdkSdkEvent{}))

var errShort = errors.New("sdk event shorter than its copied bytes")

// payload returns the event and its copied bytes.
func payload(raw []byte) (sdkSdkEvent, []byte, error) {
	var ev sdkSdkEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return ev, nil, err
	}
	if eventSize+int(ev.Len) > len(raw) {
		return ev, nil, errShort
	}
	if ev.Len < ev.Total {
		return ev, nil, fmt.Errorf("sdk event of %d bytes, %d copied: %w", ev.Total, ev.Len, errShort)
	}
	return ev, raw[eventSize : eventSize+int(ev.Len)], nil
}

// decodeSpan turns an sdk span event into its span.
func decodeSpan(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	_, b, err := payload(raw)
	if err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindInternal)
	if err := DecodeSpan(b, &s); err != nil {
		return s, err
	}
	return s, nil
}

// decodeAnnotation reads an annotation of the eBPF span in its header.
func decodeAnnotation(raw []byte) (pipeline.Annotation, error) {
	ev, b, err := payload(raw)
	if err != nil {
		return pipeline.Annotation{}, err
	}
	change, err := DecodeAnnotation(b)
	return pipeline.Annotation{Span: trace.SpanID(ev.Hdr.Sc.SpanId), Change: change}, err
}
