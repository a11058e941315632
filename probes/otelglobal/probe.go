package otelglobal

import (
	"fmt"

	"github.com/cilium/ebpf"
	"golang.org/x/mod/semver"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// Symbols of the auto-instrumentation path of the OpenTelemetry global API
// (go.opentelemetry.io/otel/internal/global/trace.go, v1.33.0+) and of
// go.opentelemetry.io/auto/sdk (tracer.go, span.go, v1.1.0+).
const (
	startSymbol = "go.opentelemetry.io/auto/sdk.(*tracer).start"
	endedSymbol = "go.opentelemetry.io/auto/sdk.(*span).ended"
	// flagSymbol is `var autoInstEnabled = new(bool)`: a pointer, set at
	// the package's init, to the bool newSpan consults.
	flagSymbol = "go.opentelemetry.io/otel/internal/global.autoInstEnabled"
	// traceFlagSymbol is the same switch of otel/trace (noop.go, v1.36+):
	// the TracerProvider of a no-op span, which instrumentation libraries
	// take from their context's span, routes to the auto sdk too.
	traceFlagSymbol = "go.opentelemetry.io/otel/trace.autoInstEnabled"
)

// minOtel is the first otel release with the auto-instrumentation path.
const minOtel = "v1.33.0"

// EnvGlobal switches the probe on: the only one that writes into the
// target, one byte, from user space.
const EnvGlobal = "OTEL_GO_AUTO_GLOBAL"

// Probe captures the manual spans an app makes with the OpenTelemetry
// global API (otel.Tracer(..).Start) when it installs no SDK: it switches
// on the API's auto-instrumentation flag in the target, gives each span
// its trace context (a child of the eBPF span of its context or
// goroutine, and a parent of the eBPF spans started under it) and exports
// what the app recorded. Under kernel lockdown the app does not see the
// IDs (span.SpanContext() is invalid there); the exported spans carry them.
type Probe struct{}

// Name implements probe.Probe.
func (Probe) Name() string { return "OpenTelemetry global API" }

// Library implements probe.Probe.
func (Probe) Library() string { return "go.opentelemetry.io/otel" }

// Spec implements probe.Probe.
func (Probe) Spec() (*ebpf.CollectionSpec, error) { return loadGlobal() }

// WriteSpec implements probe.WriteVariant: the same programs, which also
// write each span's IDs into the app.
func (Probe) WriteSpec() (*ebpf.CollectionSpec, error) { return loadGlobalWrite() }

// Hooks implements probe.Probe.
func (Probe) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: startSymbol, Entry: "start_entry"},
		{Symbol: endedSymbol, Entry: "ended_entry"},
	}
}

// Fields implements probe.Probe: the probe reads no library struct.
func (Probe) Fields() (required, optional []offsets.Field) { return nil, nil }

// Settings implements probe.Configurable.
func (Probe) Settings() []probe.Setting {
	return []probe.Setting{probe.BoolSetting(EnvGlobal, false,
		"true switches on the OpenTelemetry global API's auto path in the target (one byte written from user space) and exports its manual spans")}
}

// ContextSpanTypes implements probe.ContextSpans.
func (Probe) ContextSpanTypes() []probe.SpanType {
	return []probe.SpanType{{Type: "*go.opentelemetry.io/auto/sdk.span", Iface: "go.opentelemetry.io/otel/trace.Span"}}
}

// Vars implements probe.Probe: it checks the otel version and the setting.
func (Probe) Vars(t *probe.Target, _ offsets.Table) ([]probe.Var, error) {
	v, _ := t.Bin.Module("go.opentelemetry.io/otel")
	if !atLeast(v, minOtel) {
		return nil, fmt.Errorf("otel %s: the global API auto path needs otel >= %s, use sdk.TracerProvider(): %w",
			v, minOtel, probe.ErrUnsupportedVersion)
	}
	if !t.Settings.Bool(EnvGlobal) {
		return nil, fmt.Errorf("%s is not true: %w", EnvGlobal, probe.ErrDisabled)
	}
	return nil, nil
}

// Decoders implements probe.Probe.
func (Probe) Decoders(*probe.Target) map[string]pipeline.Decoder {
	return map[string]pipeline.Decoder{"manual_span": decodeManualSpan}
}

// KernelTests implements probe.Probe.
func (Probe) KernelTests() probe.KernelTests {
	return probe.KernelTests{
		Tests:    []string{"TestGlobalSpans", "TestGlobalOff", "TestGlobalOwnProvider", "TestGlobalIDs"},
		Fixtures: map[string]string{"globalapp": "./probes/otelglobal/testdata/globalapp"},
	}
}

// atLeast reports whether the module version v is min or later; a module
// whose version is not semver ("(devel)", replaced) counts as new.
func atLeast(v, min string) bool {
	if !semver.IsValid(v) {
		return v != ""
	}
	return semver.Compare(v, min) >= 0
}
