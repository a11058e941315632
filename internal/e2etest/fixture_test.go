package e2etest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fakeTB records Fatalf instead of ending the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestStartDies(t *testing.T) {
	bin := testenv.Build(t, "testdata/dies")
	f := &fakeTB{TB: t}
	start := time.Now()
	if p := Start(f, bin); p != nil {
		t.Fatalf("Start = %+v, want nil", p)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Start failed after %v, want at once", d)
	}
	for _, want := range []string{"exited before printing its address", "exit status 1", "opening the database", "no such table: items"} {
		if !strings.Contains(f.failed, want) {
			t.Errorf("failure %q does not contain %q", f.failed, want)
		}
	}
}

func TestStart(t *testing.T) {
	bin := testenv.Build(t, "testdata/listens")
	p := Start(t, bin)
	if !strings.HasPrefix(p.Addr, "127.0.0.1:") || p.Cmd.Process.Pid <= 0 {
		t.Errorf("Start = %+v", p)
	}
	// Exiting right after the line is not a failure: the line came first.
	for range 20 {
		f := &fakeTB{TB: t}
		if p := Start(f, bin, "EXIT_AFTER_LISTEN=1"); p == nil || f.failed != "" {
			t.Fatalf("Start of a fixture that exits after listening: %v, %q", p, f.failed)
		}
	}
}
