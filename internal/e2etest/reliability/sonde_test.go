package reliability

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// sondeProc is a running sonde command.
type sondeProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	lines  chan string // stdout
	exited chan struct{}
	err    error
}

// startSonde runs the sonde command with args and env added.
func startSonde(t *testing.T, env []string, args ...string) *sondeProc {
	t.Helper()
	testenv.RequireRoot(t)
	cmd := exec.Command(testenv.Build(t, "../../../cmd/sonde", testenv.Name("sonde")), args...)
	cmd.Env = append(os.Environ(), env...)
	s := &sondeProc{cmd: cmd, stderr: &syncBuffer{}, lines: make(chan string, 256), exited: make(chan struct{})}
	cmd.Stderr = s.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
		s.err = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.exited
	})
	return s
}

// wait waits for sonde to exit and returns its exit code.
func (s *sondeProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(timeout):
		t.Fatalf("sonde did not exit within %v; stderr:\n%s", timeout, s.stderr)
	}
	return s.cmd.ProcessState.ExitCode()
}

// line waits for a stdout line starting with prefix and returns the rest.
func (s *sondeProc) line(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-s.lines:
			if rest, ok := strings.CutPrefix(l, prefix); ok {
				return strings.TrimSpace(rest)
			}
		case <-timeout:
			t.Fatalf("no %q line from the program; stderr:\n%s", prefix, s.stderr)
		}
	}
}

// attached waits until sonde's links are on exe and returns them.
func attached(t *testing.T, exe string) bpfObjects {
	t.Helper()
	var o bpfObjects
	testenv.Eventually(t, 60*time.Second, func() error {
		if o = attachedTo(t, exe); len(o.links) == 0 {
			return fmt.Errorf("no link on %s yet", exe)
		}
		return nil
	})
	return o
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// requireCleanStop checks that sonde printed no failure while stopping.
func requireCleanStop(t *testing.T, s *sondeProc) {
	t.Helper()
	if out := s.stderr.String(); strings.Contains(out, "sonde: stopping:") || strings.Contains(out, "panic") {
		t.Errorf("sonde did not stop cleanly:\n%s", out)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

var sigkill = syscall.SIGKILL
