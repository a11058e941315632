package probe

import (
	"reflect"
	"strings"

	"github.com/cilium/ebpf"

	"go.opentelemetry.io/otel/sdk/instrumentation"

	"github.com/sonde-go/auto/internal/version"
)

// Counter indexes in the shared "counters" map (enum sonde_counter in
// internal/bpf/include/sonde/span.h).
const (
	CounterRingbufFull  = 0
	CounterCtxMapFull   = 1
	CounterGMapFull     = 2
	CounterInflightFull = 3
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
	mp := m.shared["counters"]
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

// scopeOf names a probe's spans after its Go package.
func scopeOf(p Probe) instrumentation.Scope {
	t := reflect.TypeOf(p)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return instrumentation.Scope{Name: t.PkgPath(), Version: version.Sonde}
}

// InFlight counts the entries of the correlation maps and of every
// probe's in-flight map: all are empty when no span is in progress.
func (m *Manager) InFlight() map[string]int {
	out := map[string]int{}
	countMap := func(name string, mp *ebpf.Map) {
		n := 0
		var k uint64
		v := make([]byte, mp.ValueSize())
		it := mp.Iterate()
		for it.Next(&k, v) {
			n++
		}
		out[name] = n
	}
	for _, name := range []string{"spans_by_ctx", "spans_by_goroutine", "spans_by_request"} {
		if mp := m.shared[name]; mp != nil {
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
