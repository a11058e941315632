package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"

	"go.opentelemetry.io/otel"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/kernel"
)

func main() {
	// The library sets no process-wide OpenTelemetry state (it logs export
	// errors itself); sonde sends the SDK's other errors to stderr in its
	// own log format.
	sdkLog := newLogger(os.Stderr, slog.LevelInfo)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		sdkLog.Error(err, "OpenTelemetry SDK")
	}))
	// File capabilities of the image's /sonde are permitted, not
	// effective (kernel.RaiseEffective): take them up before anything.
	if err := kernel.RaiseEffective(); err != nil {
		fmt.Fprintf(os.Stderr, "sonde: %v\n", err)
	}
	limitMemory()
	os.Exit(sonde(os.Args[1:], os.Stdout, os.Stderr))
}

// sonde runs the command line args and returns the exit code.
func sonde(args []string, stdout, stderr io.Writer) int {
	inv, err := parseArgs(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage())
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "sonde: %v\nRun 'sonde help' for usage.\n", err)
		return exitUsage
	}
	switch inv.command {
	case cmdVersion:
		fmt.Fprintf(stdout, "sonde %s (%s %s/%s)\n", auto.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return exitOK
	case cmdRun:
		return runProgram(inv.argv, inv.verbose, stderr)
	case cmdCheck:
		return check(inv, stdout, stderr)
	case cmdDemo:
		return demo(inv.verbose, stdout, stderr)
	}
	return agent(inv.verbose, stderr)
}
