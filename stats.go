package auto

import (
	"maps"

	"github.com/sonde-go/auto/internal/probe"
)

// Stats is a snapshot of what an Instrumentation has done.
type Stats struct {
	Events       uint64 // ring buffer records read
	Spans        uint64 // spans decoded
	Exported     uint64 // spans the exporter accepted
	Dropped      uint64 // spans dropped because the export queue was full
	KernelDrops  uint64 // events lost in BPF because the ring buffer was full
	ExportErrors uint64 // spans in failed exports
	DecodeErrors uint64 // records that could not be decoded
	// Truncated counts spans too large to copy whole: they lost attributes
	// or events and carry sonde.span.truncated=true.
	Truncated uint64
	// Annotations counts changes app code made to eBPF spans through the
	// sdk; AnnotationsLost those whose span never arrived.
	Annotations, AnnotationsLost uint64
	// Overflows counts BPF map overflows by what overflowed.
	Overflows map[string]uint64
	// InFlight counts the entries of the BPF correlation and in-flight
	// maps; all return to zero when no span is in progress.
	InFlight map[string]int
	// Probes are the counters of probes that keep their own (e.g. what
	// network-path propagation did with each request), by name.
	Probes map[string]uint64
}

// Stats returns counters of the pipeline and of the BPF side. After Close
// they are the final ones, the BPF side's as read just before the probes
// were unloaded.
func (i *Instrumentation) Stats() Stats {
	ps := i.pl.Stats()
	s := Stats{
		Events: ps.Events, Spans: ps.Spans, Exported: ps.Exported, Dropped: ps.Dropped,
		KernelDrops: ps.KernelDrops, ExportErrors: ps.ExportErrors, DecodeErrors: ps.DecodeErrors,
		Truncated: ps.Truncated, Annotations: ps.Annotations, AnnotationsLost: ps.AnnotationsLost,
		Overflows: map[string]uint64{},
	}
	i.countMu.Lock()
	closed := i.closed
	i.countMu.Unlock()
	switch {
	case closed != nil:
		maps.Copy(s.Overflows, closed.Overflows)
		s.InFlight = maps.Clone(closed.InFlight)
		s.Probes = maps.Clone(closed.Probes)
	case i.mgr != nil:
		bpf := i.bpfStats()
		s.Overflows, s.InFlight, s.Probes = bpf.Overflows, bpf.InFlight, bpf.Probes
	}
	return s
}

// bpfStats reads the BPF-side counters: Overflows and InFlight.
func (i *Instrumentation) bpfStats() Stats {
	s := Stats{Overflows: map[string]uint64{}}
	for k, v := range i.mgr.Counters() {
		s.Overflows[probe.CounterNames[k]] = v
	}
	s.InFlight = i.mgr.InFlight()
	s.Probes = i.mgr.ProbeCounters()
	return s
}
