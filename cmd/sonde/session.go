package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sonde-go/auto"
)

// session is the instrumentation of one launched program.
type session struct {
	inst    *auto.Instrumentation
	cancel  context.CancelFunc
	runDone chan error
}

// instrument loads the probes into pid and starts exporting. opts come
// first; WithPID(pid) is added last so that it wins.
func instrument(pid int, opts []auto.InstrumentationOption) (*session, error) {
	ctx, cancel := context.WithCancel(context.Background())
	inst, err := auto.NewInstrumentation(ctx, append(opts, auto.WithPID(pid))...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("instrumenting pid %d: %w", pid, err)
	}
	err = inst.Load(ctx)
	releaseMemory()
	if err != nil {
		inst.Close()
		cancel()
		return nil, fmt.Errorf("loading probes into pid %d: %w", pid, err)
	}
	s := &session{inst: inst, cancel: cancel, runDone: make(chan error, 1)}
	go func() { s.runDone <- inst.Run(ctx) }()
	return s, nil
}

// stop ends Run (draining the ring buffer), detaches the probes and
// flushes the spans still queued to the exporter.
func (s *session) stop() error {
	s.cancel()
	err := <-s.runDone
	return errors.Join(err, s.inst.Close())
}
