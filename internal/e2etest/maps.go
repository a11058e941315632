package e2etest

import "github.com/cilium/ebpf"

// MapCounters sums, over every loaded BPF map named name (one per loaded
// instance of a probe), the u64 values of keys 0..n-1: a probe's own
// counters array.
func MapCounters(name string, n int) []uint64 {
	out := make([]uint64, n)
	var id ebpf.MapID
	for {
		next, err := ebpf.MapGetNextID(id)
		if err != nil {
			return out
		}
		id = next
		m, err := ebpf.NewMapFromID(id)
		if err != nil {
			continue
		}
		if info, err := m.Info(); err == nil && info.Name == name {
			for k := range uint32(n) {
				var v uint64
				if m.Lookup(k, &v) == nil {
					out[k] += v
				}
			}
		}
		m.Close()
	}
}
