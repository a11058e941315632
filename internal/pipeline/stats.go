package pipeline

import "sync/atomic"

// Stats counts what went through a Pipeline. Every record is one of Spans,
// Annotations, DecodeErrors or UnknownKinds; every span is one of Exported,
// ExportErrors, Dropped, or still queued.
type Stats struct {
	Events       uint64 // records handled
	Spans        uint64 // spans decoded from records
	DecodeErrors uint64 // records a decoder rejected (short, garbage, invalid IDs)
	UnknownKinds uint64 // records of a kind no probe registered
	Dropped      uint64 // spans dropped in user space: queue full, or after Shutdown
	KernelDrops  uint64 // events BPF could not emit (ring buffer full), from AddKernelDrops
	Exported     uint64 // spans the exporter accepted
	ExportErrors uint64 // spans in batches the exporter failed to send
	// Annotations are records that change a span in progress (see
	// Annotator); AnnotationsLost those dropped because their span did not
	// arrive while too many others waited.
	Annotations, AnnotationsLost uint64
	// Truncated are spans a decoder could not copy whole (TruncatedKey).
	Truncated uint64
}

// counters are the live Stats.
type counters struct {
	events, spans, decodeErrors, unknownKinds atomic.Uint64
	dropped, kernelDrops                      atomic.Uint64
	exported, exportErrors                    atomic.Uint64
	annotations, annotationsLost, truncated   atomic.Uint64
}

func (c *counters) load() Stats {
	return Stats{
		Events:          c.events.Load(),
		Spans:           c.spans.Load(),
		DecodeErrors:    c.decodeErrors.Load(),
		UnknownKinds:    c.unknownKinds.Load(),
		Dropped:         c.dropped.Load(),
		KernelDrops:     c.kernelDrops.Load(),
		Exported:        c.exported.Load(),
		ExportErrors:    c.exportErrors.Load(),
		Annotations:     c.annotations.Load(),
		AnnotationsLost: c.annotationsLost.Load(),
		Truncated:       c.truncated.Load(),
	}
}

// keysAndValues renders s for a logr call.
func (s Stats) keysAndValues() []any {
	return []any{
		"events", s.Events,
		"spans", s.Spans,
		"decodeErrors", s.DecodeErrors,
		"unknownKinds", s.UnknownKinds,
		"dropped", s.Dropped,
		"kernelDrops", s.KernelDrops,
		"exported", s.Exported,
		"exportErrors", s.ExportErrors,
		"annotations", s.Annotations,
		"annotationsLost", s.AnnotationsLost,
		"truncated", s.Truncated,
	}
}

// since returns the counts of s added after prev.
func (s Stats) since(prev Stats) Stats {
	return Stats{
		Events:          s.Events - prev.Events,
		Spans:           s.Spans - prev.Spans,
		DecodeErrors:    s.DecodeErrors - prev.DecodeErrors,
		UnknownKinds:    s.UnknownKinds - prev.UnknownKinds,
		Dropped:         s.Dropped - prev.Dropped,
		KernelDrops:     s.KernelDrops - prev.KernelDrops,
		Exported:        s.Exported - prev.Exported,
		ExportErrors:    s.ExportErrors - prev.ExportErrors,
		Annotations:     s.Annotations - prev.Annotations,
		AnnotationsLost: s.AnnotationsLost - prev.AnnotationsLost,
		Truncated:       s.Truncated - prev.Truncated,
	}
}

// lost is the number of events and spans lost, every kind of loss.
func (s Stats) lost() uint64 {
	return s.Dropped + s.KernelDrops + s.AnnotationsLost + s.ExportErrors + s.DecodeErrors + s.UnknownKinds
}

// lossKeysAndValues renders the loss counts of s that are not zero.
func (s Stats) lossKeysAndValues() []any {
	var kv []any
	for _, c := range []struct {
		key string
		n   uint64
	}{
		{"exportErrors", s.ExportErrors}, {"dropped", s.Dropped}, {"kernelDrops", s.KernelDrops},
		{"decodeErrors", s.DecodeErrors}, {"unknownKinds", s.UnknownKinds}, {"annotationsLost", s.AnnotationsLost},
	} {
		if c.n > 0 {
			kv = append(kv, c.key, c.n)
		}
	}
	return kv
}

// lossy reports whether any event or span was lost.
func (s Stats) lossy() bool {
	return s.Dropped > 0 || s.KernelDrops > 0 || s.AnnotationsLost > 0 || s.ExportErrors > 0 || s.DecodeErrors > 0 || s.UnknownKinds > 0
}

// limiter lets the first max occurrences of a problem be logged.
type limiter struct {
	n   atomic.Uint64
	max uint64
}

// allow counts one occurrence and reports whether to log it, and whether
// it is the last one logged.
func (l *limiter) allow() (ok, last bool) {
	n := l.n.Add(1)
	return n <= l.max, n == l.max
}

// Queue returns how many spans wait for or are in export now, and how many
// may (QueueSize).
func (p *Pipeline) Queue() (queued, capacity int64) {
	return max(p.queued.Load(), 0), p.queueSize
}
