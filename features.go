package auto

import (
	"fmt"

	"github.com/sonde-go/auto/internal/kernel"
)

// checkFeatures raises RLIMIT_MEMLOCK where the kernel charges BPF memory
// to it, logs one line for each feature that missing privileges (or the
// kernel) switch off, naming what is missing and what stops working, and
// fails when such a feature was required (WithRequire,
// OTEL_GO_AUTO_REQUIRE), or is spans, without which no probe loads.
func (i *Instrumentation) checkFeatures() error {
	statuses := i.target.Facts.Features(kernel.Target{UID: kernel.ProcessUID(i.target.PID), Descendant: kernel.IsDescendant(i.target.PID)})
	if err := kernel.RemoveMemlock(); err != nil {
		for k := range statuses {
			if statuses[k].Feature == kernel.FeatureMemlock {
				statuses[k].Err = err
			}
		}
	}
	for _, st := range statuses {
		if st.Err == nil || st.Feature == kernel.FeatureBPFWrite {
			continue // bpf-write: Load's own line says what takes its place
		}
		i.log.Info("feature off", "feature", st.Feature, "reason", st.Err.Error(), "needs", st.Needs, "switches_off", st.Off)
	}
	if err := kernel.Require(statuses, i.cfg.require); err != nil {
		return err
	}
	// Without spans no probe can load: say so once, rather than a load
	// error per probe (with cilium/ebpf's advice to raise MEMLOCK).
	for _, st := range statuses {
		if st.Feature == kernel.FeatureSpans && st.Err != nil {
			return fmt.Errorf("no probe can load: feature %s off: %w", st.Feature, st.Err)
		}
	}
	return nil
}
