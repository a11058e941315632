package pipeline_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// failExporter fails every export with the next error of errs (the last
// one repeats).
type failExporter struct {
	errs  []error
	calls atomic.Int32
}

func (e *failExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	i := int(e.calls.Add(1)) - 1
	return e.errs[min(i, len(e.errs)-1)]
}

func (*failExporter) Shutdown(context.Context) error { return nil }

// TestFailedExportsLogged: export errors reach the pipeline's logger, each
// distinct one once, are all counted, and never reach the process-wide
// OpenTelemetry error handler.
func TestFailedExportsLogged(t *testing.T) {
	var global atomic.Int32
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) { global.Add(1) }))
	t.Cleanup(func() { otel.SetErrorHandler(prev) })

	errAuth := errors.New("401 unauthorized")
	exp := &failExporter{errs: []error{errDown, errDown, errAuth, errDown}}
	var logs logLines
	p := newPipeline(t, exp, 1, logs.logger()) // one span per export
	for i := range 4 {
		p.Handle(event(t, byte(i+1)))
		waitFor(t, func() bool { return p.Stats().ExportErrors == uint64(i+1) })
	}
	shutdown(t, p)

	if got, want := p.Stats(), (pipeline.Stats{Events: 4, Spans: 4, ExportErrors: 4}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if n := logs.count(errDown.Error()); n != 1 {
		t.Errorf("%q logged %d times, want once", errDown, n)
	}
	if n := logs.count(errAuth.Error()); n != 1 {
		t.Errorf("%q logged %d times, want once", errAuth, n)
	}
	if n := global.Load(); n != 0 {
		t.Errorf("the global OpenTelemetry error handler got %d errors, want 0", n)
	}
}
