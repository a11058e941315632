package probe

import "math"

// SamplerRoot is how a trace's root span is sampled (enum sampler_root of
// sonde/span.h).
type SamplerRoot uint32

// Root sampling decisions.
const (
	SampleAlways SamplerRoot = iota
	SampleNever
	SampleRatio
)

// Sampler is the sampling the BPF side applies: decided at each trace's
// root, followed by every span of the trace.
type Sampler struct {
	Root SamplerRoot
	// ParentBased makes a span with a parent (an incoming traceparent or
	// an in-process span) follow the parent's sampled flag.
	ParentBased bool
	// Ratio is the fraction of traces SampleRatio keeps, in [0, 1].
	Ratio float64
}

// DefaultSampler is the OpenTelemetry default: parentbased_always_on.
var DefaultSampler = Sampler{Root: SampleAlways, ParentBased: true}

// threshold is what sample_root compares (trace ID's last 8 bytes >> 1)
// against, as the OpenTelemetry Go SDK's TraceIDRatioBased computes it.
func (s Sampler) threshold() uint64 {
	r := math.Max(0, math.Min(1, s.Ratio))
	if r >= 1 {
		return math.MaxUint64>>1 + 1
	}
	return uint64(r * (1 << 63))
}

// vars are the shared sampler variables.
func (s Sampler) vars() []Var {
	return []Var{
		{"sampler_root", uint32(s.Root)},
		{"sampler_parent_based", s.ParentBased},
		{"sampler_threshold", s.threshold()},
	}
}
