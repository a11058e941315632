package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
)

// PollInterval is how often Run reads the ring buffer when no program woke
// it: BPF programs submit without a wakeup until the buffer is an eighth
// full (event.h), so this bounds how long an event waits.
const PollInterval = 10 * time.Millisecond

// Run hands every record of rd to Handle until ctx is done or rd is
// closed. When ctx is done it drains the records already in the ring
// buffer, closes rd and returns nil. Run reuses one record buffer, so it
// does not allocate per record.
func (p *Pipeline) Run(ctx context.Context, rd *ringbuf.Reader) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	defer wg.Wait()
	defer close(stop)
	wg.Go(func() {
		select {
		case <-ctx.Done():
			// Flush makes ReadInto return what is buffered, then
			// ErrFlushed; Close is the fallback and the last word.
			if err := rd.Flush(); err != nil {
				rd.Close()
			}
		case <-stop:
		}
	})

	var rec ringbuf.Record
	rd.SetDeadline(time.Now().Add(PollInterval))
	for {
		err := rd.ReadInto(&rec)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			// Everything submitted without a wakeup has been read: the
			// next poll is due in PollInterval (not reset per record).
			rd.SetDeadline(time.Now().Add(PollInterval))
		case err == nil:
			p.Handle(rec.RawSample)
		case errors.Is(err, ringbuf.ErrClosed):
			return nil
		case errors.Is(err, ringbuf.ErrFlushed):
			if ctx.Err() != nil {
				rd.Close()
				return nil
			}
		default:
			return fmt.Errorf("reading ring buffer: %w", err)
		}
	}
}
