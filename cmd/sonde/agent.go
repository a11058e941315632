package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/process"
)

// agent is sonde with no command: it instruments the target the
// environment names, waiting for it to start, until the target exits or
// sonde gets SIGINT or SIGTERM.
func agent(verbose bool, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	opts := append([]auto.InstrumentationOption{auto.WithEnv()}, loggerOptions(verbose, stderr)...)
	inst, err := auto.NewInstrumentation(ctx, opts...)
	switch {
	case errors.Is(err, auto.ErrNoTarget):
		fmt.Fprintln(stderr, "sonde: no target: set OTEL_GO_AUTO_TARGET_EXE or OTEL_GO_AUTO_TARGET_PID, or use 'sonde run PROGRAM' (see 'sonde help')")
		return exitUsage
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(stderr, "sonde: stopped before the target started")
		return exitOK
	case errors.Is(err, process.ErrExited):
		fmt.Fprintf(stderr, "sonde: %v before it was instrumented\n", err)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "sonde: %v\n", err)
		return exitError
	}
	code := exitOK
	err = inst.Load(ctx)
	releaseMemory()
	if err != nil && !process.Alive(inst.PID()) {
		// Killed while the probes were attaching: the target exited.
		fmt.Fprintf(stderr, "sonde: target pid %d exited while the probes were loading\n", inst.PID())
	} else if err != nil {
		fmt.Fprintf(stderr, "sonde: loading probes into pid %d: %v\n", inst.PID(), err)
		code = exitError
	} else if err := inst.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "sonde: %v\n", err)
		code = exitError
	}
	if !reportStop(stderr, inst.Close()) {
		code = exitError
	}
	return code
}

// reportStop prints what stopping the instrumentation (Close) went wrong
// with, and reports whether that was at most spans not sent in time: the
// collector's problem, reported, not a failure of sonde.
func reportStop(stderr io.Writer, err error) bool {
	if err == nil {
		return true
	}
	ok := true
	for _, e := range flatten(err) {
		if errors.Is(e, auto.ErrShutdownTimeout) {
			fmt.Fprintf(stderr, "sonde: %v (is the collector up? OTEL_GO_AUTO_SHUTDOWN_TIMEOUT waits longer)\n", e)
			continue
		}
		fmt.Fprintf(stderr, "sonde: stopping: %v\n", e)
		ok = false
	}
	return ok
}

// flatten lists the errors errors.Join put together, at any depth.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
