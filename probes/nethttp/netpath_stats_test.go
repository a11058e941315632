package nethttp_test

import (
	"os"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// logProgStats logs the run count and run time of the network-path
// programs (kernel.bpf_stats_enabled must be 1 for run times).
func logProgStats(t *testing.T) {
	on, _ := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		info, err := p.Info()
		st, serr := p.Stats()
		p.Close()
		if err != nil || serr != nil || !strings.HasPrefix(info.Name, "netpath_") {
			continue
		}
		rt, n := st.Runtime, st.RunCount
		avg := int64(0)
		if n > 0 {
			avg = rt.Nanoseconds() / int64(n)
		}
		t.Logf("program %s (id %d): %d runs, %v total, %d ns/run (bpf_stats_enabled=%s)", info.Name, id, n, rt, avg, strings.TrimSpace(string(on)))
	}
}
