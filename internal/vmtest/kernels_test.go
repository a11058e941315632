//go:build vmtest

package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestKernels runs Suite on every kernel of the cache (make test-kernels
// fetches them) and reports the time each took. Run it with -tags vmtest.
// SONDE_VM_GZIP=1 packs a compressed initrd instead; SONDE_VM_RUN runs
// only the tests it selects (Select).
func TestKernels(t *testing.T) {
	kernels, err := CachedKernels(CacheDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	suite := Suite()
	if s := os.Getenv(EnvRun); s != "" {
		re, err := regexp.Compile(s)
		if err != nil {
			t.Fatalf("%s: %v", EnvRun, err)
		}
		if suite, err = Select(suite, re); err != nil {
			t.Fatal(err)
		}
	}
	initrd, err := BuildInitrd(ctx, t.TempDir(), suite, BuildOptions{Gzip: os.Getenv("SONDE_VM_GZIP") == "1"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(initrd.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built initrd with %s: %.1f MiB in %s", strings.Join(initrd.Binaries, ", "),
		float64(st.Size())/(1<<20), time.Since(start).Round(time.Millisecond))

	var summary []string
	for _, k := range kernels {
		t.Run(k.Release, func(t *testing.T) {
			res, err := Boot(ctx, k, initrd, Options{Console: logWriter{t}})
			line := fmt.Sprintf("%-28s lockdown=%-9s %6.1fs", k.Release, res.Lockdown, res.Duration.Seconds())
			for _, b := range res.Binaries {
				line += fmt.Sprintf("  %s: exit=%d %.2fs", b.Name, b.Exit, b.Duration.Seconds())
				if len(b.Skipped) > 0 {
					line += " skipped=" + strings.Join(b.Skipped, ",")
				}
			}
			summary = append(summary, line)
			if err != nil {
				t.Error(err)
			}
			if res.Release != k.Release {
				t.Errorf("booted kernel reports release %q, want %q", res.Release, k.Release)
			}
		})
	}
	t.Logf("kernel matrix, %s in all:\n%s", time.Since(start).Round(time.Millisecond), strings.Join(summary, "\n"))

	// The harness itself: in a VM booted in lockdown, the write_user test
	// cannot run, and its skip must fail the run.
	t.Run("lockdown-skip-fails", func(t *testing.T) {
		if os.Getenv(EnvRun) != "" {
			t.Skipf("%s selects tests", EnvRun)
		}
		k := kernels[len(kernels)-1]
		bins := []TestBinary{{Package: "./internal/vmtest/selftest", Args: []string{"-test.v", "-test.run", "^TestProbeWriteUser$"}}}
		initrd, err := BuildInitrd(ctx, t.TempDir(), bins, BuildOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res, err := Boot(ctx, k, initrd, Options{Append: "lockdown=integrity"})
		t.Logf("%s with lockdown=%s: %.1fs, err: %v", k.Release, res.Lockdown, res.Duration.Seconds(), err)
		if res.Lockdown != "integrity" {
			t.Fatalf("lockdown = %q, want integrity", res.Lockdown)
		}
		if !errors.Is(err, ErrTestFailed) {
			t.Fatalf("err = %v, want ErrTestFailed: a skipped must-run test passed in the VM\n%s", err, res.Console)
		}
	})
}

// logWriter sends console lines to the test log as they arrive.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
