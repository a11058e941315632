// Package goroutines is the goroutine fan-out probe: goroutines inherit the
// span their creator runs when they start, for their ctx-less calls.
package goroutines

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// parentGoid is runtime.g.parentGoid, the creator's goroutine ID, in Go
// 1.21 and newer (src/runtime/runtime2.go).
var parentGoid = offsets.Field{Struct: "runtime.g", Name: "parentGoid"}

// goidField is runtime.g.goid, which every probe reads.
var goidField = offsets.Field{Struct: "runtime.g", Name: "goid"}

// Probe makes a goroutine started while its creator runs a span inherit
// that span: one probe hit per goroutine created, none per span. The
// inheritance reaches any depth of goroutines started from goroutines,
// and holds only while the creator's goroutine still runs a span of that
// trace: a worker of a pool started during one request never keeps that
// request as the parent of later work. Work a pool's existing goroutines
// pick up gets its parent from the context it is given, or none.
type Probe struct{}

// Name implements probe.Probe.
func (Probe) Name() string { return "goroutine fan-out" }

// Library implements probe.Probe.
func (Probe) Library() string { return "std" }

// Spec implements probe.Probe.
func (Probe) Spec() (*ebpf.CollectionSpec, error) { return loadGoroutines() }

// Hooks implements probe.Probe.
func (Probe) Hooks() []probe.Hook {
	return []probe.Hook{{
		Symbol: "runtime.newproc1",
		Return: "newproc_return",
		// After `newg.goid = ...` (src/runtime/proc.go) the new g is
		// complete for what the probe reads: one emulated hit instead of
		// a single-stepped ret.
		Store: &probe.StoreHook{Field: goidField, Prog: "newproc_goid", ArgVar: "newg_arg"},
	}}
}

// Fields implements probe.Probe.
func (Probe) Fields() (required, optional []offsets.Field) {
	return nil, []offsets.Field{parentGoid}
}

// Vars implements probe.Probe.
func (Probe) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	off, ok := o[parentGoid]
	if !ok {
		return nil, fmt.Errorf("%s: runtime.g has no parentGoid before Go 1.21: %w", t.Bin.GoVersion(), probe.ErrUnsupportedVersion)
	}
	// One read for both IDs where they are close (136 bytes apart in Go
	// 1.26): each bpf_probe_read_user costs as much as 256 bytes copied.
	goid := o[goidField]
	base, end := min(goid, off), max(goid, off)+8
	var window uint64
	if end-base <= 256 {
		window = end - base
	}
	return []probe.Var{
		{Name: "g_parent_goid_off", Value: off},
		{Name: "g_ids_base", Value: base},
		{Name: "g_ids_window", Value: window},
	}, nil
}

// Decoders implements probe.Probe: the probe emits no events.
func (Probe) Decoders(*probe.Target) map[string]pipeline.Decoder { return nil }

// KernelTests implements probe.Probe.
func (Probe) KernelTests() probe.KernelTests {
	return probe.KernelTests{
		Tests:    []string{"TestFanOut"},
		Fixtures: map[string]string{"fanout": "./probes/goroutines/testdata/fanout"},
	}
}
