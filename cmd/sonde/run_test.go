package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// startSonde starts the built sonde with args and extra environment, and
// returns its stdout lines as they come.
func startSonde(t *testing.T, env []string, args ...string) (*exec.Cmd, <-chan string, *syncBuffer) {
	t.Helper()
	return startSondeEnv(t, append(os.Environ(), env...), args...)
}

// startSondeEnv is startSonde with the whole environment given.
func startSondeEnv(t *testing.T, environ []string, args ...string) (*exec.Cmd, <-chan string, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(buildSonde(t), args...)
	cmd.Env = environ
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines, stderr
}

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
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

// waitFor waits until s contains sub, failing after 30 s.
func (s *syncBuffer) waitFor(t *testing.T, sub string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		if out := s.String(); !strings.Contains(out, sub) {
			return fmt.Errorf("no %q in:\n%s", sub, out)
		}
		return nil
	})
}

// nextJSON returns the first line of s that starts with "{" (a console
// exporter span), waiting up to 30 s for it.
func (s *syncBuffer) nextJSON(t *testing.T) string {
	t.Helper()
	var line string
	testenv.Eventually(t, 30*time.Second, func() error {
		for l := range strings.Lines(s.String()) {
			if strings.HasPrefix(l, "{") && strings.HasSuffix(l, "\n") {
				line = l
				return nil
			}
		}
		return fmt.Errorf("no span in:\n%s", s)
	})
	return line
}

// nextLine returns the next stdout line with prefix, failing after 30 s.
func nextLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before a line starting with %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line starting with %q within 30 s", prefix)
		}
	}
}

// waitCode waits for cmd (after its output was read) and returns its exit
// code.
func waitCode(t *testing.T, cmd *exec.Cmd, lines <-chan string) int {
	t.Helper()
	for range lines {
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatalf("waiting for sonde: %v", err)
	return -1
}

func TestRunUninstrumented(t *testing.T) {
	// sh is not a Go program: it must run anyway, with its exit code,
	// after one short line that says so.
	cmd, lines, stderr := startSonde(t, nil, "run", "--", "/bin/sh", "-c", "echo hello from sh; exit 4")
	nextLine(t, lines, "hello from sh")
	if code := waitCode(t, cmd, lines); code != 4 {
		t.Errorf("exit code %d, want 4; stderr:\n%s", code, stderr)
	}
	if got, want := stderr.String(), "sonde: running /bin/sh uninstrumented: not a Go program\n"; got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	cmd, lines, stderr := startSonde(t, nil, "run", "/bin/sh", "-c",
		`trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.05; done`)
	nextLine(t, lines, "ready")
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	nextLine(t, lines, "got TERM")
	if code := waitCode(t, cmd, lines); code != 7 {
		t.Errorf("exit code %d, want 7; stderr:\n%s", code, stderr)
	}
}

func TestRunKilledProgram(t *testing.T) {
	cmd, lines, stderr := startSonde(t, nil, "run", "/bin/sh", "-c", `kill -KILL $$`)
	if code := waitCode(t, cmd, lines); code != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, 128+int(syscall.SIGKILL), stderr)
	}
}

func TestRunMissingProgram(t *testing.T) {
	cmd, lines, stderr := startSonde(t, nil, "run", "sonde-no-such-program")
	if code := waitCode(t, cmd, lines); code != exitNotFound {
		t.Errorf("exit code %d, want %d; stderr:\n%s", code, exitNotFound, stderr)
	}
}

// consoleSpan is the part of the console exporter's JSON a test reads.
type consoleSpan struct {
	Name       string
	SpanKind   int
	Attributes []struct {
		Key   string
		Value struct{ Value any }
	}
	Resource []struct {
		Key   string
		Value struct{ Value any }
	}
}

func (s consoleSpan) attr(key string) any {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

func (s consoleSpan) resource(key string) any {
	for _, a := range s.Resource {
		if a.Key == key {
			return a.Value.Value
		}
	}
	return nil
}

// TestRunE2E starts an HTTP server under `sonde run`, sends a request the
// moment it says it listens, and expects that request's span: the program
// was instrumented before it ran. The server exits with code 3, which
// sonde must pass on.
func TestRunE2E(t *testing.T) {
	testenv.RequireRoot(t)
	buildSonde(t) // before the clock starts
	fixture := testenv.Build(t, "testdata/oneshot")

	start := time.Now()
	// The console exporter writes to stderr by default: the program's
	// stdout stays its own.
	cmd, lines, stderr := startSonde(t, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_GO_AUTO_CONSOLE_OUTPUT=", "OTEL_SERVICE_NAME=oneshot"},
		"run", "--", fixture)
	addr := strings.TrimPrefix(nextLine(t, lines, "listening on "), "listening on ")
	listening := time.Since(start)

	resp, err := http.Get("http://" + addr + "/hello/sonde")
	if err != nil {
		t.Fatalf("request: %v\nstderr:\n%s", err, stderr)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "hello sonde\n" {
		t.Fatalf("response %d %q", resp.StatusCode, body)
	}

	line := stderr.nextJSON(t)
	exported := time.Since(start)
	var span consoleSpan
	if err := json.Unmarshal([]byte(line), &span); err != nil {
		t.Fatalf("decoding span %q: %v", line, err)
	}
	var progOut []string
	for l := range lines {
		progOut = append(progOut, l)
	}
	if code := waitCode(t, cmd, lines); code != 3 {
		t.Errorf("exit code %d, want the program's 3; stderr:\n%s", code, stderr)
	}
	for _, l := range progOut {
		if strings.HasPrefix(l, "{") {
			t.Errorf("a span on the program's stdout: %s", l)
		}
	}
	t.Logf("sonde run: program listening after %v, first span exported after %v", listening, exported)

	if span.Name != "GET /hello/{name}" || span.SpanKind != 2 {
		t.Errorf("span %q kind %d, want \"GET /hello/{name}\" kind 2 (server)", span.Name, span.SpanKind)
	}
	for key, want := range map[string]any{
		"url.path":                  "/hello/sonde",
		"http.route":                "/hello/{name}",
		"http.response.status_code": float64(200),
		"http.request.method":       "GET",
	} {
		if got := span.attr(key); got != want {
			t.Errorf("%s = %v, want %v", key, got, want)
		}
	}
	if got := span.resource("service.name"); got != "oneshot" {
		t.Errorf("service.name = %v, want oneshot", got)
	}
}

// TestRunDefaultEndpoint: with no OTEL_EXPORTER_OTLP_* (nor
// OTEL_TRACES_EXPORTER) variable set, spans reach a collector on
// 127.0.0.1:4318 over plain HTTP, the OpenTelemetry default.
func TestRunDefaultEndpoint(t *testing.T) {
	testenv.RequireRoot(t)
	fixture := testenv.Build(t, "testdata/oneshot")
	rcv := otlptest.Start(t, otlptest.HTTPAddr("127.0.0.1:4318"))
	var environ []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_EXPORTER_OTLP_") && !strings.HasPrefix(kv, "OTEL_TRACES_EXPORTER=") {
			environ = append(environ, kv)
		}
	}
	cmd, lines, stderr := startSondeEnv(t, append(environ, "OTEL_SERVICE_NAME=default-endpoint"), "run", "--", fixture)
	addr := strings.TrimPrefix(nextLine(t, lines, "listening on "), "listening on ")
	resp, err := http.Get("http://" + addr + "/hello/otlp")
	if err != nil {
		t.Fatalf("request: %v\nstderr:\n%s", err, stderr)
	}
	resp.Body.Close()
	if code := waitCode(t, cmd, lines); code != 3 {
		t.Errorf("exit code %d, want the program's 3; stderr:\n%s", code, stderr)
	}
	spans := rcv.WaitSpans(t, 1, 10*time.Second)
	if s := spans[0]; s.Name != "GET /hello/{name}" || s.Resource["service.name"] != "default-endpoint" {
		t.Errorf("span %q of %v, want GET /hello/{name} of default-endpoint", s.Name, s.Resource["service.name"])
	}
	if strings.Contains(stderr.String(), "exporting spans") || strings.Contains(stderr.String(), "tls:") {
		t.Errorf("export errors:\n%s", stderr)
	}
}

// TestAgentE2E is the sidecar: sonde waits for OTEL_GO_AUTO_TARGET_EXE to
// start, instruments it, and ends when it exits.
func TestAgentE2E(t *testing.T) {
	testenv.RequireRoot(t)
	fixture := testenv.Build(t, "testdata/oneshot")
	spansFile := filepath.Join(t.TempDir(), "spans.json")
	cmd, lines, stderr := startSonde(t, []string{"OTEL_TRACES_EXPORTER=console", "OTEL_GO_AUTO_CONSOLE_OUTPUT=" + spansFile, "OTEL_GO_AUTO_TARGET_EXE=" + fixture})
	stderr.waitFor(t, "waiting for target")
	p := e2etest.Start(t, fixture)
	stderr.waitFor(t, "probe loaded")
	resp, err := http.Get("http://" + p.Addr + "/hello/agent")
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	resp.Body.Close()
	if code := waitCode(t, cmd, lines); code != 0 {
		t.Errorf("sonde exit code %d after the target exited, want 0; stderr:\n%s", code, stderr)
	}
	// The spans went to the file OTEL_GO_AUTO_CONSOLE_OUTPUT names.
	data, err := os.ReadFile(spansFile)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	var span consoleSpan
	if err := json.Unmarshal([]byte(first), &span); err != nil {
		t.Fatalf("decoding %q: %v", first, err)
	}
	if got := span.attr("url.path"); got != "/hello/agent" {
		t.Errorf("url.path = %v, want /hello/agent", got)
	}
	if strings.Contains(stderr.String(), `"SpanContext"`) {
		t.Errorf("spans on stderr too:\n%s", stderr)
	}
}

func TestAgentNoTarget(t *testing.T) {
	cmd, lines, stderr := startSonde(t, []string{"OTEL_GO_AUTO_TARGET_EXE=", "OTEL_GO_AUTO_TARGET_PID="})
	if code := waitCode(t, cmd, lines); code != exitUsage {
		t.Errorf("exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "no target: set OTEL_GO_AUTO_TARGET_EXE or OTEL_GO_AUTO_TARGET_PID") {
		t.Errorf("stderr:\n%s", stderr)
	}
}
