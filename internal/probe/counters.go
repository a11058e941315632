package probe

import (
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
)

// CounterNames names the counters for logs.
var CounterNames = map[uint32]string{
	CounterRingbufFull:  "events dropped: ring buffer full",
	CounterCtxMapFull:   "context map full",
	CounterGMapFull:     "goroutine map full",
	CounterInflightFull: "in-flight map full",
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
		out[name] = n
	}
	for _, maps := range m.shared {
		for name, mp := range maps {
			countMap(name, mp)
		}
	}
	for _, c := range m.colls {
		for name, mp := range c.Maps {
			if strings.HasSuffix(name, "_inflight") {
				countMap(name, mp)
			}
		}
	}
	return out
}
