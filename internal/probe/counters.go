package probe

import (
	"encoding/binary"
	"reflect"
	"strings"

	"github.com/cilium/ebpf"

	"go.opentelemetry.io/otel/sdk/instrumentation"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/version"
)

// Counter indexes in the shared "counters" map: enum sonde_counter of
// internal/bpf/include/sonde/span.h, exported by bpf2go.
const (
	CounterRingbufFull  = uint32(bpf.SondeSondeCounterCOUNTER_RINGBUF_FULL)
	CounterCtxMapFull   = uint32(bpf.SondeSondeCounterCOUNTER_CTX_MAP_FULL)
	CounterGMapFull     = uint32(bpf.SondeSondeCounterCOUNTER_G_MAP_FULL)
	CounterInflightFull = uint32(bpf.SondeSondeCounterCOUNTER_INFLIGHT_FULL)
	// CounterMapWalkIncomplete counts Go map walks that ended before the
	// map's last entry without finding what they looked for (a request
	// with more headers than the header scan covers).
	CounterMapWalkIncomplete = uint32(bpf.SondeSondeCounterCOUNTER_MAP_WALK_INCOMPLETE)
)

// CounterNames names the counters for logs.
var CounterNames = map[uint32]string{
	CounterRingbufFull:       "events dropped: ring buffer full",
	CounterCtxMapFull:        "context map full",
	CounterGMapFull:          "goroutine map full",
	CounterInflightFull:      "in-flight map full",
	CounterMapWalkIncomplete: "map walk incomplete: header scan gave up",
}

// Counters reads the shared BPF counters.
func (m *Manager) Counters() map[uint32]uint64 {
	out := map[uint32]uint64{}
	mp := m.shared[""]["counters"]
	if mp == nil {
		return out
	}
	for k := range CounterNames {
		var v uint64
		if err := mp.Lookup(k, &v); err == nil {
			out[k] = v
		}
	}
	return out
}

// PackageOf returns the Go import path of the package that defines p.
func PackageOf(p Probe) string {
	t := reflect.TypeOf(p)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath()
}

// scopeOf names a probe's spans after its Go package.
func scopeOf(p Probe) instrumentation.Scope {
	return instrumentation.Scope{Name: PackageOf(p), Version: version.Sonde}
}

// InFlight counts the entries of the correlation maps, of the maps probes
// share and of every probe's in-flight map: all are empty when no span is
// in progress.
func (m *Manager) InFlight() map[string]int {
	out := map[string]int{}
	countMap := func(name string, mp *ebpf.Map) {
		if mp.Type() == ebpf.Array {
			if held, ok := slotsOf(name); ok {
				out[held] += heldSlots(mp)
			}
			return
		}
		if mp.Type() != ebpf.Hash {
			return
		}
		n := 0
		k := make([]byte, mp.KeySize())
		v := make([]byte, mp.ValueSize())
		it := mp.Iterate()
		for it.Next(k, v) {
			n++
		}
		out[name] += n
	}
	for _, maps := range m.shared {
		for name, mp := range maps {
			countMap(name, mp)
		}
	}
	for _, c := range m.colls {
		for name, mp := range c.Maps {
			if strings.HasSuffix(name, "_inflight") || strings.HasSuffix(name, "_islots") {
				countMap(name, mp)
			}
		}
	}
	return out
}

// ownCounters is one probe's counter map (OwnCounters).
type ownCounters struct {
	m     *ebpf.Map
	names map[uint32]string
}

// ProbeCounters reads the counters of the probes that have their own
// (OwnCounters), by name, summed over CPUs.
func (m *Manager) ProbeCounters() map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range m.counters {
		for k, name := range c.names {
			if c.m.Type() == ebpf.PerCPUArray {
				var vs []uint64
				if err := c.m.Lookup(k, &vs); err == nil {
					var sum uint64
					for _, v := range vs {
						sum += v
					}
					out[name] += sum
				}
				continue
			}
			var v uint64
			if err := c.m.Lookup(k, &v); err == nil {
				out[name] += v
			}
		}
	}
	return out
}

// slotsOf names the hash map whose entries the goroutine-slot array name
// holds the rest of (sonde/gslot.h): its entries count as that map's.
func slotsOf(name string) (string, bool) {
	switch name {
	case "goroutine_spans":
		return "spans_by_goroutine", true
	case "ctx_spans":
		return "spans_by_ctx", true
	}
	base, ok := strings.CutSuffix(name, "_islots")
	return base + "_inflight", ok
}

// heldSlots counts the slots of a goroutine-slot array that a goroutine
// holds: those whose first word (struct gslot_head's goid) is not 0.
func heldSlots(mp *ebpf.Map) int {
	n := 0
	var k uint32
	v := make([]byte, mp.ValueSize())
	it := mp.Iterate()
	for it.Next(&k, &v) {
		if binary.NativeEndian.Uint64(v) != 0 {
			n++
		}
	}
	return n
}
