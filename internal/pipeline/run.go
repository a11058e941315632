package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf/ringbuf"
)

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
	for {
		err := rd.ReadInto(&rec)
		switch {
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
