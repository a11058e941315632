package e2etest

import (
	"context"
	"maps"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestStatsAfterClose: Close keeps the BPF-side counters of the final
// Stats (read before the probes are unloaded), Overflows included.
func TestStatsAfterClose(t *testing.T) {
	testenv.RequireRoot(t)
	p := Start(t, testenv.Build(t, "../../cmd/sonde/testdata/oneshot"))
	inst, err := NewInstrumentation(t, p.Cmd.Process.Pid, otlptest.Start(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := inst.Load(context.Background()); err != nil {
		inst.Close()
		t.Fatalf("Load: %v", err)
	}
	before := inst.Stats()
	if len(before.Overflows) == 0 || before.InFlight == nil {
		t.Fatalf("Stats before Close: Overflows %v, InFlight %v; want the counters", before.Overflows, before.InFlight)
	}
	if err := inst.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	after := inst.Stats()
	if !maps.Equal(after.Overflows, before.Overflows) || !maps.Equal(after.InFlight, before.InFlight) {
		t.Errorf("Stats after Close: Overflows %v, InFlight %v; want %v, %v", after.Overflows, after.InFlight, before.Overflows, before.InFlight)
	}
	after.Overflows["x"] = 1 // a copy: the next Stats is unchanged
	if _, ok := inst.Stats().Overflows["x"]; ok {
		t.Error("Stats after Close returns the Instrumentation's own map")
	}
}
