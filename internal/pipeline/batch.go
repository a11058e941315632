package pipeline

import (
	"context"
	"sync"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// batcher exports the spans the pipeline admitted, in batches of up to
// batchSize: a batch leaves when batchSize spans wait, or when the oldest
// waiting span has waited batchTimeout, or at shutdown; the first span
// leaves at once (the user sees that tracing works as soon as the probes
// are attached, not a batch timeout later). Whatever waits when
// an export returns goes in the next batch at once if it is due: a slow
// exporter gets full batches, not one span each.
//
// Its memory is bounded by the pipeline: a span takes a queue slot when it
// is admitted and gives it back when its export returns (Pipeline.admit,
// Pipeline.exported), so at most QueueSize spans wait here or are in
// export.
type batcher struct {
	exp       sdktrace.SpanExporter
	done      func(n int, err error) // accounts for one finished export
	size      int
	timeout   time.Duration // batch timeout
	expTimout time.Duration // export timeout

	// ctx is the parent of every export's; abandon cancels it when a
	// shutdown deadline passes.
	ctx     context.Context
	abandon context.CancelFunc

	mu       sync.Mutex
	queue    []sdktrace.ReadOnlySpan
	oldest   time.Time // when queue[0] was added
	stopping bool
	sent     bool            // a batch has left
	stopCtx  context.Context // the Shutdown's, for the exporter's Shutdown

	wake     chan struct{} // a batch may be due, or stopping
	finished chan struct{} // closed when the exporter is shut down
	shutErr  error         // the exporter's Shutdown error; read after finished
}

func newBatcher(exp sdktrace.SpanExporter, size int, timeout, expTimeout time.Duration, done func(int, error)) *batcher {
	ctx, cancel := context.WithCancel(context.Background())
	b := &batcher{
		exp: exp, done: done, size: size, timeout: timeout, expTimout: expTimeout,
		ctx: ctx, abandon: cancel,
		wake: make(chan struct{}, 1), finished: make(chan struct{}),
	}
	go b.loop()
	return b
}

// add queues one span; it never blocks on the exporter.
func (b *batcher) add(s sdktrace.ReadOnlySpan) {
	b.mu.Lock()
	if len(b.queue) == 0 {
		b.oldest = time.Now()
	}
	b.queue = append(b.queue, s)
	n := len(b.queue)
	b.mu.Unlock()
	if n == 1 || n == b.size {
		b.signal()
	}
}

func (b *batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// stop makes the loop export what waits and then shut the exporter down;
// ctx is given to the exporter's Shutdown.
func (b *batcher) stop(ctx context.Context) {
	b.mu.Lock()
	b.stopping, b.stopCtx = true, ctx
	b.mu.Unlock()
	b.signal()
}

// next waits for the next batch; nil means stop.
func (b *batcher) next() []sdktrace.ReadOnlySpan {
	for {
		b.mu.Lock()
		n := len(b.queue)
		switch {
		case b.ctx.Err() != nil: // abandoned: the pipeline counted these
			b.queue = nil
			b.mu.Unlock()
			return nil
		case n >= b.size || n > 0 && (b.stopping || !b.sent || time.Since(b.oldest) >= b.timeout):
			b.sent = true
			take := min(n, b.size)
			batch := make([]sdktrace.ReadOnlySpan, take)
			copy(batch, b.queue)
			rest := copy(b.queue, b.queue[take:])
			clear(b.queue[rest:])
			b.queue = b.queue[:rest]
			// What is left waited at least as long as its successors:
			// it leaves with the next loop, oldest unchanged.
			b.mu.Unlock()
			return batch
		case n == 0 && b.stopping:
			b.mu.Unlock()
			return nil
		}
		var due <-chan time.Time
		var t *time.Timer
		if n > 0 {
			t = time.NewTimer(b.timeout - time.Since(b.oldest))
			due = t.C
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-due:
		case <-b.ctx.Done():
		}
		if t != nil {
			t.Stop()
		}
	}
}

func (b *batcher) loop() {
	defer close(b.finished)
	for batch := b.next(); batch != nil; batch = b.next() {
		ctx, cancel := context.WithTimeout(b.ctx, b.expTimout)
		err := b.exp.ExportSpans(ctx, batch)
		cancel()
		b.done(len(batch), err)
	}
	b.mu.Lock()
	ctx := b.stopCtx
	b.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		// Abandoned: the exporter still gets a moment to close.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), time.Second)
		defer cancel()
	}
	b.shutErr = b.exp.Shutdown(ctx)
}
