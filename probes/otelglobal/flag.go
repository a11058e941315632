package otelglobal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
)

// How long the flag's pointer is waited for: it is set by the otel global
// package's init, which has not run yet when Sonde attaches to a program
// it starts (sonde run).
const (
	flagWait = 30 * time.Second
	flagPoll = 2 * time.Millisecond
)

// Functions that pass the flags on (the last global each loads before
// that call): `return t.newSpan(ctx, autoInstEnabled, name, opts)`
// (internal/global, trace.go) and `return s.tracerProvider(autoInstEnabled)`
// (trace, noop.go).
var (
	flagReader       = probe.GlobalReader{Func: "go.opentelemetry.io/otel/internal/global.(*tracer).Start", Callee: "go.opentelemetry.io/otel/internal/global.(*tracer).newSpan"}
	traceFlagReaders = []probe.GlobalReader{
		{Func: "go.opentelemetry.io/otel/trace.noopSpan.TracerProvider", Callee: "go.opentelemetry.io/otel/trace.noopSpan.tracerProvider"},
		{Func: "go.opentelemetry.io/otel/trace.(*noopSpan).TracerProvider", Callee: "go.opentelemetry.io/otel/trace.noopSpan.tracerProvider"},
	}
)

// errNoFlag reports a binary whose flag cannot be located.
var errNoFlag = errors.New("auto-instrumentation flag not found")

// Attached implements probe.Attacher: it switches the global API's auto
// path on, from user space, once its flag exists. It does not wait for
// it: the target may be stopped until Attached returns.
func (Probe) Attached(t *probe.Target) error {
	// Without a symbol table, each flag is the one global variable that
	// a function which passes it on references.
	ptrAddr, ok := t.Global(flagSymbol, flagReader)
	if !ok {
		return fmt.Errorf("%s not in the symbol table nor found through %s: %w", flagSymbol, flagReader.Func, errNoFlag)
	}
	flags := map[string]uint64{flagSymbol: ptrAddr}
	if a, ok := t.Global(traceFlagSymbol, traceFlagReaders...); ok {
		flags[traceFlagSymbol] = a
	}
	for name, ptrAddr := range flags {
		go func() {
			addr, err := enableFlag(t.PID, ptrAddr, flagWait)
			if err != nil {
				t.Logger.Info("could not switch on the OpenTelemetry API's auto path: its manual spans are not exported",
					"flag", name, "error", err.Error())
				return
			}
			t.Logger.Info("switched on the OpenTelemetry API's auto path", "flag", name, "at", fmt.Sprintf("%#x", addr))
		}()
	}
	return nil
}

// enableFlag waits up to wait for the *bool at ptrAddr to be set, then
// writes true where it points. It returns that address.
func enableFlag(pid int, ptrAddr uint64, wait time.Duration) (uint64, error) {
	deadline := time.Now().Add(wait)
	var b [8]byte
	for {
		if err := process.ReadMemory(pid, ptrAddr, b[:]); err != nil {
			return 0, err
		}
		if addr := binary.LittleEndian.Uint64(b[:]); addr != 0 {
			return addr, process.WriteMemory(pid, addr, []byte{1})
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("still nil after %v: %w", wait, errNoFlag)
		}
		if !process.Alive(pid) {
			return 0, process.ErrExited
		}
		time.Sleep(flagPoll)
	}
}
