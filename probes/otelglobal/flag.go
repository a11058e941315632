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

// errNoFlag reports a binary whose flag cannot be located.
var errNoFlag = errors.New("auto-instrumentation flag not found")

// Attached implements probe.Attacher: it switches the global API's auto
// path on, from user space, once its flag exists. It does not wait for
// it: the target may be stopped until Attached returns.
func (Probe) Attached(t *probe.Target) error {
	ptrAddr, ok := t.Symbol(flagSymbol)
	if !ok {
		return fmt.Errorf("%s not in the symbol table: %w", flagSymbol, errNoFlag)
	}
	flags := map[string]uint64{flagSymbol: ptrAddr}
	if a, ok := t.Symbol(traceFlagSymbol); ok {
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
