package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/probes/otelglobal"
)

const (
	modulePath   = "github.com/sonde-go/auto"
	demoPackage  = "./examples/todo"
	demoSpanWait = 10 * time.Second // for the spans of the demo's requests
	demoStopWait = 15 * time.Second // for the example to shut down
)

// errNoSourceTree reports that the demo's source is not around.
var errNoSourceTree = errors.New("sonde's source tree not found (run 'sonde demo' from inside it, e.g. 'go run ./cmd/sonde demo')")

// demoRequest is one request the demo sends.
type demoRequest struct {
	method, path, body string
}

var demoRequests = []demoRequest{
	{http.MethodPost, "/todos", `{"title":"buy milk"}`},
	{http.MethodPost, "/todos", `{"title":"walk the dog"}`},
	{http.MethodGet, "/todos", ""},
	{http.MethodGet, "/todos/1", ""},
	{http.MethodGet, "/todos/999", ""},
	{http.MethodDelete, "/todos/1", ""},
}

// errBrokenPipe ends the demo when its output is closed (`sonde demo |
// head`).
var errBrokenPipe = errors.New("output closed")

// stopSignal ends the demo when SIGINT or SIGTERM arrives.
type stopSignal struct{ sig syscall.Signal }

func (s stopSignal) Error() string { return "stopped by " + s.sig.String() }

// demo is `sonde demo`: build examples/todo, run it instrumented, send it
// requests and print the traces. However it ends (a signal, its output
// closed), the example is stopped and its build directory removed.
func demo(verbose bool, stdout, stderr io.Writer) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "sonde demo: needs root, to load eBPF programs and attach uprobes; try: sudo -E go run ./cmd/sonde demo")
		return exitError
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			cancel(stopSignal{sig.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	// Without this, a write to a closed stdout kills sonde on the spot
	// (SIGPIPE), leaving the example running and its directory behind:
	// with it, the write fails with EPIPE and the demo cleans up.
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, syscall.SIGPIPE)
	defer signal.Stop(pipe)
	out := &pipeWriter{w: stdout, broken: func() { cancel(errBrokenPipe) }}

	err := runDemo(ctx, verbose, out, stderr)
	return demoExit(err, context.Cause(ctx), stderr)
}

// demoExit prints how the demo ended and returns its exit code: 0, 1 on a
// failure, 128+N when signal N stopped it, and 141 (as if killed by
// SIGPIPE, silently) when its output was closed.
func demoExit(err, cause error, stderr io.Writer) int {
	var sig stopSignal
	switch {
	case errors.Is(cause, errBrokenPipe):
		return exitSignalBase + int(syscall.SIGPIPE)
	case errors.As(cause, &sig):
		fmt.Fprintf(stderr, "sonde demo: interrupted (%v): the example is stopped and its files removed\n", sig.sig)
		return exitSignalBase + int(sig.sig)
	case err != nil:
		fmt.Fprintf(stderr, "sonde demo: %v\n", err)
		return exitError
	}
	return exitOK
}

// pipeWriter calls broken once when a write fails with EPIPE.
type pipeWriter struct {
	w      io.Writer
	broken func()
	once   sync.Once
}

func (p *pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.once.Do(p.broken)
	}
	return n, err
}

func runDemo(ctx context.Context, verbose bool, stdout, stderr io.Writer) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "sonde-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(stderr, "sonde demo: building %s\n", demoPackage)
	if err := ctx.Err(); err != nil {
		return err
	}
	bin := filepath.Join(tmp, "todo")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, demoPackage)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", demoPackage, err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}

	var progOut bytes.Buffer // the example's own log, shown with -v or on failure
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "ADDR="+addr, "TODO_DB="+filepath.Join(tmp, "todo.db"))
	// Should sonde itself be killed (SIGKILL), the example goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stdout, cmd.Stderr = &progOut, &progOut
	if verbose {
		cmd.Stdout, cmd.Stderr = stderr, stderr
	}
	col := newCollector()
	level := slog.LevelWarn
	if verbose {
		level = slog.LevelDebug
	}
	opts := []auto.InstrumentationOption{
		auto.WithEnv(),
		auto.WithServiceName("todo"),
		auto.WithTraceExporter(col),
		// The statements (literals masked) and "{operation} {table}"
		// span names are the defaults. Export the example's manual span
		// (the OpenTelemetry global API).
		auto.WithSetting(otelglobal.EnvGlobal, "true"),
		auto.WithLogger(newLogger(stderr, level)),
	}
	var sess *session
	var instErr error
	err = launch(cmd, func(pid int) { sess, instErr = instrument(pid, opts) })
	if err != nil {
		if sess != nil {
			sess.stop()
		}
		return fmt.Errorf("starting the example: %w", err)
	}
	exited := make(chan struct{}) // closed when the example has ended
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if sess != nil {
			sess.stop()
		}
	}()
	if instErr != nil {
		return instErr
	}
	fmt.Fprintf(stdout, "todo example running as pid %d on %s, instrumented\n\n", cmd.Process.Pid, addr)

	if err := waitListening(ctx, addr, exited); err != nil {
		select {
		case <-exited: // progOut is complete and no longer written
			return fmt.Errorf("%w (%v)\n%s", err, waitErr, progOut.String())
		default:
			return err
		}
	}
	sent, err := drive(ctx, stdout, "http://"+addr)
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, demoSpanWait)
	col.waitFor(waitCtx, sent)
	cancel()

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(demoStopWait):
		cmd.Process.Kill()
		<-exited
	}
	err = sess.stop() // flushes what is still queued
	sess = nil
	if err != nil {
		fmt.Fprintf(stderr, "sonde demo: %v\n", err)
	}
	spans := col.Spans()
	fmt.Fprintln(stdout)
	traces, err := writeTraces(stdout, spans)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%d traces, %d spans\n", traces, len(spans))
	if len(spans) == 0 {
		return errors.New("no spans arrived (run with -v to see why)")
	}
	return nil
}

// drive sends the demo requests to base and prints one line for each. It
// returns how many got a response.
func drive(ctx context.Context, w io.Writer, base string) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	sent := 0
	for _, r := range demoRequests {
		req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, strings.NewReader(r.body))
		if err != nil {
			return sent, err
		}
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return sent, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		sent++
		fmt.Fprintf(w, "  %-6s %-11s -> %d\n", r.method, r.path, resp.StatusCode)
	}
	return sent, nil
}

// waitListening waits until addr accepts connections, the program exits,
// or ctx is done.
func waitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	deadline := time.Now().Add(demoSpanWait)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return errors.New("the example exited before listening")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the example is not listening on %s", addr)
		}
	}
}

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// moduleRoot walks up from the working directory to the go.mod of Sonde's
// module that has the demo's source next to it.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isModuleRoot(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errNoSourceTree
		}
		dir = parent
	}
}

// isModuleRoot reports whether dir holds Sonde's go.mod and the demo.
func isModuleRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if mod, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			if strings.Trim(strings.TrimSpace(mod), `"`) != modulePath {
				return false
			}
			_, err := os.Stat(filepath.Join(dir, demoPackage, "main.go"))
			return err == nil
		}
	}
	return false
}
