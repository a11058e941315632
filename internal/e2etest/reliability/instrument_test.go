package reliability

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
)

// agent is an Instrumentation of the fixture, running.
type agent struct {
	*auto.Instrumentation
	logs   *e2etest.LogCapture
	cancel context.CancelFunc
	done   chan error
	closed bool
	final  auto.Stats // Stats after close
}

// instrument attaches Sonde to pid with env (KEY=value) set and runs it;
// close stops it, and cleanup does if the test did not.
func instrument(t *testing.T, pid int, env []string, opts ...auto.InstrumentationOption) *agent {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	a := &agent{logs: &e2etest.LogCapture{}, done: make(chan error, 1)}
	base := []auto.InstrumentationOption{auto.WithEnv(), auto.WithPID(pid), auto.WithLogger(a.logs.Logger(t))}
	inst, err := auto.NewInstrumentation(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewInstrumentation: %v", err)
	}
	if err := inst.Load(context.Background()); err != nil {
		inst.Close()
		t.Fatalf("Load: %v", err)
	}
	a.Instrumentation = inst
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() { a.done <- inst.Run(ctx) }()
	t.Cleanup(func() {
		if !a.closed {
			a.close(t)
		}
	})
	return a
}

// close ends Run and closes the Instrumentation, returning Close's error.
func (a *agent) close(t *testing.T) error {
	t.Helper()
	a.closed = true
	a.cancel()
	select {
	case err := <-a.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("Run did not return")
	}
	err := a.Close()
	a.final = a.Stats()
	// The cleanup keeps a until the test ends: let the rest go.
	a.Instrumentation = nil
	return err
}

// queued is how many spans wait for or are in export: every decoded span
// is exported, failed, dropped or queued.
func queued(s auto.Stats) int64 {
	return int64(s.Spans) - int64(s.Exported+s.ExportErrors+s.Dropped)
}
