package auto

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sonde-go/auto/internal/probe"
)

// The standard sampler variables (OpenTelemetry SDK environment
// specification), always read.
const (
	envSampler    = "OTEL_TRACES_SAMPLER"
	envSamplerArg = "OTEL_TRACES_SAMPLER_ARG"
)

// Sampler says which traces Sonde records. It is decided in BPF at each
// trace's root, so an unsampled trace costs no ring buffer output, and
// every span of a trace follows its root.
type Sampler struct{ s probe.Sampler }

// AlwaysOn records every trace, ignoring a caller's sampled flag.
func AlwaysOn() Sampler { return Sampler{probe.Sampler{Root: probe.SampleAlways}} }

// AlwaysOff records nothing.
func AlwaysOff() Sampler { return Sampler{probe.Sampler{Root: probe.SampleNever}} }

// TraceIDRatio records the fraction ratio of traces, chosen by trace ID.
func TraceIDRatio(ratio float64) Sampler {
	return Sampler{probe.Sampler{Root: probe.SampleRatio, Ratio: ratio}}
}

// ParentBased makes spans with a parent (an incoming traceparent, an
// in-process span) follow its sampled flag, and roots follow root.
func ParentBased(root Sampler) Sampler {
	root.s.ParentBased = true
	return root
}

// WithSampler sets the sampler. It overrides OTEL_TRACES_SAMPLER and
// OTEL_TRACES_SAMPLER_ARG; the default is ParentBased(AlwaysOn()).
func WithSampler(s Sampler) InstrumentationOption {
	return optionFunc(func(c config) config { c.sampler = &s.s; return c })
}

// samplerFromEnv reads OTEL_TRACES_SAMPLER(_ARG) as the specification
// says: an unknown sampler or an invalid ratio is reported and the default
// (or ratio 1.0) used.
func samplerFromEnv() (probe.Sampler, []error) {
	name := strings.TrimSpace(strings.ToLower(os.Getenv(envSampler)))
	arg, argSet := os.LookupEnv(envSamplerArg)
	var problems []error
	ratio := 1.0
	if argSet && strings.TrimSpace(arg) != "" {
		r, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
		if err != nil || r < 0 || r > 1 {
			problems = append(problems, fmt.Errorf("%s=%q: not a ratio in [0, 1], using 1.0", envSamplerArg, arg))
		} else {
			ratio = r
		}
	}
	switch name {
	case "", "parentbased_always_on":
		return ParentBased(AlwaysOn()).s, problems
	case "always_on":
		return AlwaysOn().s, problems
	case "always_off":
		return AlwaysOff().s, problems
	case "traceidratio":
		return TraceIDRatio(ratio).s, problems
	case "parentbased_always_off":
		return ParentBased(AlwaysOff()).s, problems
	case "parentbased_traceidratio":
		return ParentBased(TraceIDRatio(ratio)).s, problems
	}
	problems = append(problems, fmt.Errorf("%s=%q: unknown or unsupported sampler, using parentbased_always_on", envSampler, os.Getenv(envSampler)))
	return ParentBased(AlwaysOn()).s, problems
}
