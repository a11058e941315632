package main

import (
	"errors"
	"io"
	"os"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// progStat is one BPF program's cumulative run count and run time.
type progStat struct {
	Name    string
	Runs    uint64
	Runtime time.Duration
}

// enableBPFStats switches on the kernel's run-time accounting of BPF
// programs for as long as the returned closer is open.
func enableBPFStats() (io.Closer, error) {
	return ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
}

// bpfPrograms returns the stats of every BPF program loaded now, by ID.
func bpfPrograms() (map[ebpf.ProgramID]progStat, error) {
	out := map[ebpf.ProgramID]progStat{}
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if errors.Is(err, os.ErrNotExist) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		id = next
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // unloaded meanwhile
		}
		s, serr := p.Stats()
		info, ierr := p.Info()
		p.Close()
		if serr != nil || ierr != nil {
			continue
		}
		out[id] = progStat{Name: info.Name, Runs: s.RunCount, Runtime: s.Runtime}
	}
}

// bpfDelta sums, over the programs that did not exist in base (the
// agent's), what they ran between from and to, and lists them by name.
func bpfDelta(base, from, to map[ebpf.ProgramID]progStat) (runs uint64, rt time.Duration, by map[string]progStat) {
	by = map[string]progStat{}
	for id, t := range to {
		if _, old := base[id]; old {
			continue
		}
		f := from[id]
		d := progStat{Name: t.Name, Runs: t.Runs - f.Runs, Runtime: t.Runtime - f.Runtime}
		runs += d.Runs
		rt += d.Runtime
		s := by[t.Name]
		s.Name, s.Runs, s.Runtime = t.Name, s.Runs+d.Runs, s.Runtime+d.Runtime
		by[t.Name] = s
	}
	return runs, rt, by
}
