package e2etest

import (
	"bufio"
	"bytes"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// Proc is a running fixture.
type Proc struct {
	Cmd    *exec.Cmd
	Addr   string // from its "listening on ADDR" line
	stdout *capture
}

// Stdout returns what the process wrote to its stdout so far (its first
// 64 KiB).
func (p *Proc) Stdout() string { return p.stdout.String() }

// startTimeout bounds the wait for a fixture's "listening on" line.
const startTimeout = 30 * time.Second

// Start runs bin (built by testenv.Build) with env added to the
// environment and waits for its "listening on ADDR" line. When the process
// exits before that line, Start fails the test at once with its exit
// status and what it wrote to stdout and stderr. Its stderr also goes to
// the test's. The process is killed and reaped on cleanup.
func Start(t testing.TB, bin string, env ...string) *Proc {
	t.Helper()
	return startCmd(t, exec.Command(bin), env)
}

// StartAsNobody is Start with the process running as uid and gid Nobody,
// holding no capabilities: bin must be where that user can run it
// (Sandbox.Copy).
func StartAsNobody(t testing.TB, bin string, env ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin)
	AsNobody(cmd)
	return startCmd(t, cmd, env)
}

// startCmd is Start for a prepared command.
func startCmd(t testing.TB, cmd *exec.Cmd, env []string) *Proc {
	t.Helper()
	bin := cmd.Path
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = time.Second // a child of the fixture may hold stderr open
	var stdout, stderr capture
	cmd.Stderr = io.MultiWriter(os.Stderr, &stderr)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
		return nil
	}
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("starting %s: %v", bin, err)
		return nil
	}

	// The reader owns stdout until EOF; Wait runs only once the process is
	// gone, so it never races with reads of the pipe.
	line := make(chan string, 1)
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		defer r.Close()
		br := bufio.NewReader(r)
		found := false
		for {
			l, err := br.ReadString('\n')
			stdout.Write([]byte(l))
			if a, ok := strings.CutPrefix(l, "listening on "); ok && !found {
				found = true
				line <- strings.TrimSpace(a)
			}
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})

	p := &Proc{Cmd: cmd, stdout: &stdout}
	select {
	case p.Addr = <-line:
		return p
	case <-exited:
		// It may have printed the line just before exiting: read stdout to
		// its end (a child of the fixture could hold it open: not forever).
		select {
		case <-eof:
		case <-time.After(time.Second):
		}
		select {
		case p.Addr = <-line:
			return p
		default:
		}
		status := "exit status 0"
		if waitErr != nil {
			status = waitErr.Error()
		}
		t.Fatalf("%s exited before printing its address: %s\nstdout:\n%s\nstderr:\n%s", bin, status, &stdout, &stderr)
	case <-time.After(startTimeout):
		t.Fatalf("%s did not print its address within %v\nstdout:\n%s\nstderr:\n%s", bin, startTimeout, &stdout, &stderr)
	}
	return nil
}

// capture keeps the first captureMax bytes written to it, for failure
// messages; it is safe for concurrent use.
type capture struct {
	mu sync.Mutex
	b  bytes.Buffer
}

const captureMax = 64 << 10

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := captureMax - c.b.Len(); room > 0 {
		c.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (c *capture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.b.String()
}
