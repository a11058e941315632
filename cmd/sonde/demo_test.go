package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestDemo runs `sonde demo` in the test process: it builds examples/todo,
// so it is skipped in -short mode.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/todo; skipped in -short mode")
	}
	testenv.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	start := time.Now()
	if err := runDemo(ctx, false, &stdout, &stderr); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	t.Logf("demo took %v", time.Since(start))
	out := stdout.String()
	for _, want := range []string{
		"  GET /todos/{id}  [server]  ",
		"url.path=/todos/999  http.response.status_code=404",
		"DELETE /todos/{id}  [server]  ",
		"SELECT todos  [client]  ",
		"INSERT todos  [client]  ",
		// The startup statement, on one line, its keywords kept.
		"CREATE todos  [client]  ",
		"done BOOLEAN NOT NULL DEFAULT FALSE, created_at TIMESTAMP NOT NULL )",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`(?m)^(\d+) traces, (\d+) spans$`).FindStringSubmatch(out)
	if m == nil || m[1] != "7" {
		// Six requests, none with an incoming trace context: six traces,
		// plus the todo's startup CREATE TABLE (Sonde attaches before
		// main runs).
		t.Errorf("summary %q, want 7 traces:\n%s", m, out)
	}
}

// TestDemoExit: how the demo ends decides its message and exit code.
func TestDemoExit(t *testing.T) {
	for _, tc := range []struct {
		err, cause error
		code       int
		stderr     string
	}{
		{nil, nil, exitOK, ""},
		{errors.New("no spans arrived"), nil, exitError, "sonde demo: no spans arrived\n"},
		{context.Canceled, stopSignal{syscall.SIGINT}, 130, "sonde demo: interrupted (interrupt): the example is stopped and its files removed\n"},
		{context.Canceled, stopSignal{syscall.SIGTERM}, 143, "sonde demo: interrupted (terminated): the example is stopped and its files removed\n"},
		{syscall.EPIPE, errBrokenPipe, 141, ""}, // as if killed by SIGPIPE, silently
	} {
		var stderr strings.Builder
		if code := demoExit(tc.err, tc.cause, &stderr); code != tc.code || stderr.String() != tc.stderr {
			t.Errorf("demoExit(%v, %v) = %d, %q; want %d, %q", tc.err, tc.cause, code, &stderr, tc.code, tc.stderr)
		}
	}
}

// TestDemoSIGPIPE: `sonde demo | head -1` stops the demo when head exits,
// and leaves neither the example running nor its directory behind.
func TestDemoSIGPIPE(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/todo; skipped in -short mode")
	}
	testenv.RequireRoot(t)
	tmp := t.TempDir()
	cmd := exec.Command(buildSonde(t), "demo")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// Read one line, as head -1 does, then close the pipe.
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the first line: %v\nstderr:\n%s", err, &stderr)
	}
	out.Close()
	m := regexp.MustCompile(`running as pid (\d+) `).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("first line %q names no pid", line)
	}
	child, _ := strconv.Atoi(m[1])

	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("sonde demo still running a minute after its output closed\nstderr:\n%s", &stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != exitSignalBase+int(syscall.SIGPIPE) {
		t.Errorf("exit code %d (%v), want %d\nstderr:\n%s", code, cmd.ProcessState, exitSignalBase+int(syscall.SIGPIPE), &stderr)
	}
	if err := syscall.Kill(child, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("the example (pid %d) is still there: kill(0) = %v", child, err)
		syscall.Kill(child, syscall.SIGKILL)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sonde-demo-") {
			t.Errorf("%s left behind", filepath.Join(tmp, e.Name()))
		}
	}
}
