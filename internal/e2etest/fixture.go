package e2etest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

var (
	buildMu sync.Mutex
	built   = map[string]string{}
)

// Build compiles the Go package in dir (relative to the test's working
// directory) once per test binary, with extra `go build` flags, and returns
// the executable's path.
func Build(t testing.TB, dir string, flags ...string) string {
	t.Helper()
	key := dir + "\x00" + strings.Join(flags, "\x00")
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[key]; ok {
		return p
	}
	if vmenv.InVM() {
		// No go command in the kernel-matrix VMs: the fixture was built
		// beforehand (internal/vmtest.Suite) under its directory's name.
		return filepath.Join(vmenv.FixtureDir(), filepath.Base(dir))
	}
	out, err := os.MkdirTemp("", "sonde-fixture-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(out, filepath.Base(dir))
	args := append([]string{"build", "-o", bin}, flags...)
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", dir, err, b)
	}
	built[key] = bin
	return bin
}

// Proc is a running fixture.
type Proc struct {
	Cmd  *exec.Cmd
	Addr string // from its "listening on ADDR" line
	out  *bufio.Reader
}

// Start runs bin with env added to the environment and waits for its
// "listening on ADDR" line. The process is killed on cleanup.
func Start(t testing.TB, bin string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	p := &Proc{Cmd: cmd, out: bufio.NewReader(stdout)}
	line := make(chan string, 1)
	go func() {
		for {
			l, err := p.out.ReadString('\n')
			if strings.HasPrefix(l, "listening on ") {
				line <- strings.TrimSpace(strings.TrimPrefix(l, "listening on "))
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case p.Addr = <-line:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not print its address", bin)
	}
	return p
}

// RequireRoot skips the test unless it runs as root, which loading BPF
// programs and attaching uprobes to another process need. CI runs as root,
// so it never skips there: with CI set, not being root is a failure.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatal("eBPF end-to-end tests must run as root in CI")
	}
	t.Skip(fmt.Sprintf("needs root to load BPF programs (euid %d)", os.Geteuid()))
}

// Go122 is the older toolchain CI installs (Debian golang-1.22-go): classic
// maps and older struct layouts.
const Go122 = "/usr/lib/go-1.22/bin/go"

// BuildStdWith builds the standard-library-only fixture in dir with the
// toolchain goBin, in a module of its own (the main go.mod is too new for
// old toolchains). It skips the test when goBin is not installed.
func BuildStdWith(t testing.TB, goBin, dir string) string {
	t.Helper()
	if _, err := os.Stat(goBin); err != nil {
		t.Skipf("toolchain %s not installed", goBin)
	}
	src := t.TempDir()
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module fixture\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), filepath.Base(dir))
	cmd := exec.Command(goBin, "build", "-o", bin, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s with %s: %v\n%s", dir, goBin, err, b)
	}
	return bin
}
