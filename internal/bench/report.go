package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
)

// summary is the median over rounds of one scenario in one mode.
type summary struct {
	Scenario       string  `json:"scenario"`
	Mode           string  `json:"mode"`
	Rounds         int     `json:"rounds"`
	RPS            float64 `json:"rps"`
	Ratio          float64 `json:"ratio_to_uninstrumented"`
	P50us          float64 `json:"p50_us"`
	P99us          float64 `json:"p99_us"`
	Errors         int     `json:"errors"`
	HitsPerRequest float64 `json:"probe_hits_per_request"`
	BPFnsPerReq    float64 `json:"bpf_ns_per_request"`
	AgentUsPerSpan float64 `json:"agent_cpu_us_per_span"`
	AgentPeakMiB   float64 `json:"agent_peak_rss_mib"`
	AttachSeconds  float64 `json:"attach_s"`
	TargetUsPerReq float64 `json:"target_cpu_us_per_request"`
	SpansPerReq    float64 `json:"spans_per_request"`
}

// summarize takes medians per (scenario, mode) and the throughput ratio
// to the uninstrumented median of the same scenario.
func summarize(all []measurement, modes []string, scs []scenario) []summary {
	var out []summary
	for _, sc := range scs {
		var none float64
		for _, mode := range modes {
			var ms []measurement
			for _, m := range all {
				if m.Scenario == sc.Name && m.Mode == mode {
					ms = append(ms, m)
				}
			}
			if len(ms) == 0 {
				continue
			}
			pick := func(f func(measurement) float64) float64 {
				v := make([]float64, len(ms))
				for i, m := range ms {
					v[i] = f(m)
				}
				return median(v)
			}
			s := summary{
				Scenario: sc.Name, Mode: mode, Rounds: len(ms),
				RPS:            pick(func(m measurement) float64 { return m.RPS }),
				P50us:          pick(func(m measurement) float64 { return m.P50us }),
				P99us:          pick(func(m measurement) float64 { return m.P99us }),
				HitsPerRequest: pick(func(m measurement) float64 { return m.HitsPerRequest }),
				BPFnsPerReq:    pick(func(m measurement) float64 { return m.BPFnsPerReq }),
				AgentUsPerSpan: pick(func(m measurement) float64 { return m.AgentUsPerSpan }),
				AgentPeakMiB:   pick(func(m measurement) float64 { return m.AgentPeakMiB }),
				AttachSeconds:  pick(func(m measurement) float64 { return m.AttachSeconds }),
				TargetUsPerReq: pick(func(m measurement) float64 { return m.TargetUsPerReq }),
				SpansPerReq: pick(func(m measurement) float64 {
					if m.Requests == 0 {
						return 0
					}
					return float64(m.Spans) / float64(m.Requests)
				}),
			}
			for _, m := range ms {
				s.Errors += m.Errors
			}
			if mode == modeNone {
				none = s.RPS
			}
			if none > 0 {
				s.Ratio = s.RPS / none
			}
			out = append(out, s)
		}
	}
	return out
}

// median of v (the mean of the middle two for an even count); v is sorted.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// printTable writes the summary as an aligned table after the conditions.
func printTable(w io.Writer, sum []summary, cond map[string]string) {
	keys := make([]string, 0, len(cond))
	for k := range cond {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\n", k, cond[k])
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tmode\treq/s\tratio\tp50 µs\tp99 µs\terrors\tspans/req\thits/req\tBPF ns/req\tagent µs/span\tagent MiB\tattach s\ttarget µs/req\t")
	for _, s := range sum {
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.2f\t%.0f\t%.0f\t%d\t%.2f\t%s\t%s\t%s\t%s\t%s\t%.1f\t\n",
			s.Scenario, s.Mode, s.RPS, s.Ratio, s.P50us, s.P99us, s.Errors, s.SpansPerReq,
			opt(s.HitsPerRequest, "%.2f"), opt(s.BPFnsPerReq, "%.0f"), opt(s.AgentUsPerSpan, "%.1f"),
			opt(s.AgentPeakMiB, "%.1f"), opt(s.AttachSeconds, "%.2f"), s.TargetUsPerReq)
	}
	tw.Flush()
}

// opt formats v, or "-" where a mode has no such figure.
func opt(v float64, f string) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf(f, v)
}
