package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// PollInterval is how often Run reads the ring buffer: BPF programs
// submit without a wakeup until the buffer is an eighth full (event.h),
// so this bounds how long an event waits.
const PollInterval = 10 * time.Millisecond

// busyPass is how many records one pass reads before Run reads again at
// once instead of waiting for the next poll: the buffer is filling fast.
const busyPass = 4096

// Run hands every record of rd to Handle until ctx is done or rd is
// closed. When ctx is done it drains the records already in the ring
// buffer, closes rd and returns nil. Run reuses one record buffer, so it
// does not allocate per record.
//
// It never blocks in epoll_wait: each pass reads what the buffer holds
// with a deadline already past (a non-blocking poll), then Run sleeps on a
// Go timer. A thread blocked in a syscall would have the runtime's
// sysmon take its P back every 10 ms and then poll every 20 µs (about a
// tenth of the agent's CPU under load).
func (p *Pipeline) Run(ctx context.Context, rd *ringbuf.Reader) error {
	var rec ringbuf.Record
	tick := time.NewTicker(PollInterval)
	defer tick.Stop()
	for {
		n, err := p.pass(rd, &rec)
		if err != nil {
			if errors.Is(err, ringbuf.ErrClosed) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			rd.Close()
			return nil
		}
		if n >= busyPass {
			continue
		}
		select {
		case <-ctx.Done():
			// One more pass: what was submitted before the end.
		case <-tick.C:
		}
	}
}

// pass handles the records rd holds now and returns how many.
func (p *Pipeline) pass(rd *ringbuf.Reader, rec *ringbuf.Record) (int, error) {
	rd.SetDeadline(time.Now())
	for n := 0; ; n++ {
		err := rd.ReadInto(rec)
		switch {
		case err == nil:
			p.Handle(rec.RawSample)
		case errors.Is(err, os.ErrDeadlineExceeded):
			return n, nil
		case errors.Is(err, ringbuf.ErrClosed):
			return n, err
		default:
			return n, fmt.Errorf("reading ring buffer: %w", err)
		}
	}
}
