//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// defaultTimeout bounds a binary whose manifest entry has no timeout.
const defaultTimeout = 5 * time.Minute

// runAll runs the manifest's binaries one after the other and writes their
// prefixed output and one result line each to console.
func runAll(console io.Writer, m vmenv.Manifest, env []string) {
	var mu sync.Mutex // one console line at a time
	for _, b := range m.Binaries {
		r := runOne(&lineWriter{mu: &mu, w: console, prefix: b.Name + vmenv.OutputSep}, b, env)
		mu.Lock()
		fmt.Fprintln(console, r.String())
		mu.Unlock()
	}
}

// runOne runs one binary in its own process group, killing the group when
// the binary's timeout passes.
func runOne(out *lineWriter, b vmenv.Binary, env []string) vmenv.Result {
	r := vmenv.Result{Name: b.Name, Exit: -1}
	timeout := b.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, b.Path, b.Args...)
	cmd.Dir = b.Dir
	cmd.Env = append(append(append([]string(nil), env...),
		vmenv.EnvFixtureDir+"="+b.FixtureDir), b.Env...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	err := os.MkdirAll(b.Dir, 0o755)
	if err == nil {
		err = cmd.Run()
	}
	r.Duration = time.Since(start)
	out.flush()
	r.TimedOut = ctx.Err() != nil
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		r.Exit = 0
	case errors.As(err, &exitErr):
		r.Exit = exitErr.ExitCode() // -1 when killed by a signal
	default:
		out.WriteString(fmt.Sprintf("vminit: running %s: %v\n", b.Path, err))
	}
	if r.TimedOut {
		out.WriteString(fmt.Sprintf("vminit: killed after timeout %s\n", timeout))
		if r.Exit == 0 {
			r.Exit = -1
		}
	}
	return r
}

// lineWriter writes whole lines to w, each with prefix, holding mu for each.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// Write implements io.Writer; it buffers a partial last line.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		l.emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	return len(p), nil
}

// WriteString writes s through Write.
func (l *lineWriter) WriteString(s string) { _, _ = l.Write([]byte(s)) }

// flush writes a final line that had no newline.
func (l *lineWriter) flush() {
	if len(l.buf) > 0 {
		l.emit(l.buf)
		l.buf = nil
	}
}

func (l *lineWriter) emit(line []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// One write per line keeps the line whole on the console.
	bw := bufio.NewWriterSize(l.w, len(l.prefix)+len(line)+1)
	bw.WriteString(l.prefix)
	bw.Write(line)
	bw.WriteByte('\n')
	_ = bw.Flush()
}
