package auto

import "testing"

// TestWithPropagation: the option sets OTEL_GO_AUTO_PROPAGATION, and a
// mechanism other than off overrides OTEL_PROPAGATORS=none.
func TestWithPropagation(t *testing.T) {
	decls := declared(t)
	cleanEnv(t, decls, map[string]string{"OTEL_PROPAGATORS": "none"})
	for _, tc := range []struct {
		p                Propagation
		mode, propagator string
	}{
		{PropagationNetwork, "network", "tracecontext"},
		{PropagationUprobe, "uprobe", "tracecontext"},
		{PropagationOff, "off", "none"},
	} {
		c, err := newConfig([]InstrumentationOption{WithPID(1), WithEnv(), WithPropagation(tc.p)}, decls)
		if err != nil {
			t.Fatal(err)
		}
		if c.settings["OTEL_GO_AUTO_PROPAGATION"] != tc.mode || c.settings["OTEL_PROPAGATORS"] != tc.propagator {
			t.Errorf("WithPropagation(%s): %q %q, want %q %q", tc.p, c.settings["OTEL_GO_AUTO_PROPAGATION"],
				c.settings["OTEL_PROPAGATORS"], tc.mode, tc.propagator)
		}
	}
	if _, err := newConfig([]InstrumentationOption{WithPID(1), WithPropagation("sideways")}, decls); err == nil {
		t.Errorf("WithPropagation(sideways): no error")
	}
}
