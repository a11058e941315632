package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/signal"
	"syscall"

	"github.com/sonde-go/auto"
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
	case err != nil:
		fmt.Fprintf(stderr, "sonde: %v\n", err)
		return exitError
	}
	code := exitOK
	if err := inst.Load(ctx); err != nil {
		fmt.Fprintf(stderr, "sonde: loading probes into pid %d: %v\n", inst.PID(), err)
		code = exitError
	} else if err := inst.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "sonde: %v\n", err)
		code = exitError
	}
	if err := inst.Close(); err != nil {
		fmt.Fprintf(stderr, "sonde: closing: %v\n", err)
		code = exitError
	}
	return code
}
