package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

func TestMain(m *testing.M) { Main(m) }

// fakeTB records what Require and Build decide instead of ending the test.
type fakeTB struct {
	testing.TB // the real test, for what the fake does not replace
	failed     string
	skipped    string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatal(args ...any)                 { f.failed = fmt.Sprint(args...) }
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }

// where sets the environment Require reads.
func where(t *testing.T, ci, vm string) {
	t.Setenv("CI", ci)
	t.Setenv(vmenv.EnvInVM, vm)
}

func TestRequire(t *testing.T) {
	for _, tc := range []struct {
		name, ci, vm string
		ok           bool
		fail, skip   bool // Require
		failVM       bool // RequireInVM
	}{
		{name: "met", ok: true},
		{name: "met in CI", ci: "true", ok: true},
		{name: "met in the VM", vm: "1", ok: true},
		{name: "here", skip: true},
		{name: "CI", ci: "true", fail: true},
		{name: "VM", vm: "1", fail: true, failVM: true},
		{name: "VM not 1", vm: "0", skip: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			where(t, tc.ci, tc.vm)
			f := &fakeTB{TB: t}
			Require(f, tc.ok, "no %s", "widget")
			if (f.failed != "") != tc.fail || (f.skipped != "") != tc.skip {
				t.Fatalf("Require: failed %q, skipped %q; want fail %v, skip %v", f.failed, f.skipped, tc.fail, tc.skip)
			}
			for _, msg := range []string{f.failed, f.skipped} {
				if msg != "" && !strings.HasPrefix(msg, "no widget") {
					t.Errorf("message %q does not give the reason", msg)
				}
			}
			if tc.fail && !strings.Contains(f.failed, map[bool]string{true: "CI is set", false: "kernel-matrix VM"}[tc.ci != ""]) {
				t.Errorf("failure %q does not say why it is not a skip", f.failed)
			}

			f = &fakeTB{TB: t}
			RequireInVM(f, tc.ok, "no %s", "widget")
			if (f.failed != "") != tc.failVM || (f.skipped != "") != (!tc.ok && !tc.failVM) {
				t.Errorf("RequireInVM: failed %q, skipped %q; want fail %v", f.failed, f.skipped, tc.failVM)
			}
		})
	}
}

func TestRequireRoot(t *testing.T) {
	where(t, "true", "")
	f := &fakeTB{TB: t}
	RequireRoot(f)
	if root := os.Geteuid() == 0; root != (f.failed == "") || f.skipped != "" {
		t.Errorf("root %v: failed %q, skipped %q", root, f.failed, f.skipped)
	}
}

func TestEventually(t *testing.T) {
	n := 0
	start := time.Now()
	Eventually(t, 5*time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if n != 3 || time.Since(start) > time.Second {
		t.Errorf("%d calls in %v, want 3 at once", n, time.Since(start))
	}

	f := &fakeTB{TB: t}
	Eventually(f, 30*time.Millisecond, func() error { return errors.New("still down") })
	if !strings.Contains(f.failed, "still down") || !strings.Contains(f.failed, "30ms") {
		t.Errorf("timeout: %q, want the last error and the timeout", f.failed)
	}
}

func run(t *testing.T, bin string) string {
	t.Helper()
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("%s: %v", bin, err)
	}
	return strings.TrimSpace(string(out))
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs; skipped in -short mode")
	}
	where(t, os.Getenv("CI"), "")
	bin := Build(t, "testdata/hello")
	if filepath.Base(bin) != "hello" || !strings.HasPrefix(bin, os.TempDir()) {
		t.Errorf("Build = %s, want a file named hello under %s", bin, os.TempDir())
	}
	if again := Build(t, "testdata/hello"); again != bin {
		t.Errorf("second Build = %s, want the first %s", again, bin)
	}
	if got := run(t, bin); !strings.HasPrefix(got, "hello go") {
		t.Errorf("fixture printed %q", got)
	}
	hi := Build(t, "testdata/hello", Flags("-ldflags=-X main.msg=hi"), Name("hi"))
	if hi == bin || filepath.Base(hi) != "hi" || !strings.HasPrefix(run(t, hi), "hi go") {
		t.Errorf("Build with flags: %s printing %q", hi, run(t, hi))
	}
}

func TestBuildToolchain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds programs; skipped in -short mode")
	}
	bin := Build(t, "testdata/hello", Toolchain(Go122))
	if filepath.Base(bin) != "hello-go1.22" || !strings.HasPrefix(run(t, bin), "hello go1.22") {
		t.Errorf("Build with Go 1.22: %s printing %q", bin, run(t, bin))
	}

	where(t, "", "")
	f := &fakeTB{TB: t}
	if p := Build(f, "testdata/hello", Toolchain("/nonexistent/go-1.99/bin/go")); p != "" || !strings.Contains(f.skipped, "not installed") {
		t.Errorf("missing toolchain: %q, skipped %q, failed %q", p, f.skipped, f.failed)
	}
}

func TestBuildInVM(t *testing.T) {
	dir := t.TempDir()
	where(t, "", "1")
	t.Setenv(vmenv.EnvFixtureDir, dir)
	if err := os.WriteFile(filepath.Join(dir, "hello"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	f := &fakeTB{TB: t}
	if p := Build(f, "testdata/hello"); p != filepath.Join(dir, "hello") || f.failed != "" {
		t.Errorf("prebuilt: %q, failed %q", p, f.failed)
	}
	if p := Build(f, "testdata/hello", Toolchain(Go122)); p != "" || !strings.Contains(f.failed, "hello-go1.22") {
		t.Errorf("not prebuilt: %q, failed %q", p, f.failed)
	}
}

// TestToolchainHint: a missing toolchain's skip says how to install it.
func TestToolchainHint(t *testing.T) {
	for goBin, want := range map[string]string{
		Go122: "apt-get install golang-1.22-go, from Debian bookworm-backports",
		"/root/go/pkg/mod/golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64/bin/go": "GOTOOLCHAIN=go1.27.3 go version downloads it",
		"/opt/go-1.99/bin/go": "install it there",
	} {
		if got := toolchainHint(goBin); got != want {
			t.Errorf("toolchainHint(%s) = %q, want %q", goBin, got, want)
		}
	}
}
