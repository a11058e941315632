package e2etest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"github.com/go-logr/logr/testr"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/otlptest"
)

// Instrument attaches Sonde to pid, exporting OTLP/HTTP to rcv through the
// standard OTEL_* environment, and runs it until the test ends. Extra
// options come after the defaults.
func Instrument(t testing.TB, pid int, rcv *otlptest.Receiver, opts ...auto.InstrumentationOption) *auto.Instrumentation {
	t.Helper()
	inst, err := NewInstrumentation(t, pid, rcv, opts...)
	if err != nil {
		t.Fatalf("NewInstrumentation: %v", err)
	}
	if err := inst.Load(context.Background()); err != nil {
		inst.Close()
		t.Fatalf("Load: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- inst.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("Run did not return")
		}
		inst.Close()
	})
	return inst
}

// NewInstrumentation creates (but does not load) an Instrumentation of pid
// exporting to rcv.
func NewInstrumentation(t testing.TB, pid int, rcv *otlptest.Receiver, opts ...auto.InstrumentationOption) (*auto.Instrumentation, error) {
	t.Helper()
	for _, kv := range rcv.Env() {
		k, v, _ := cut(kv)
		t.Setenv(k, v)
	}
	base := []auto.InstrumentationOption{auto.WithEnv(), auto.WithPID(pid), auto.WithLogger(Logger(t))}
	return auto.NewInstrumentation(context.Background(), append(base, opts...)...)
}

// Logger logs through t.
func Logger(t testing.TB) logr.Logger {
	return testr.NewWithInterface(t, testr.Options{Verbosity: 1})
}

func cut(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

// LogCapture is a logger that also keeps every line for assertions.
type LogCapture struct {
	mu    sync.Mutex
	lines []string
}

// Logger returns a logger writing to t and to c.
func (c *LogCapture) Logger(t testing.TB) logr.Logger {
	return funcr.New(func(prefix, args string) {
		c.mu.Lock()
		c.lines = append(c.lines, args)
		c.mu.Unlock()
		t.Log(args)
	}, funcr.Options{Verbosity: 1})
}

// Count returns how many logged lines contain s.
func (c *LogCapture) Count(s string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, l := range c.lines {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// Contains reports whether a logged line contains all of parts.
func (c *LogCapture) Contains(parts ...string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
next:
	for _, l := range c.lines {
		for _, p := range parts {
			if !strings.Contains(l, p) {
				continue next
			}
		}
		return true
	}
	return false
}
