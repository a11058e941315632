package sdk

import (
	"context"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// recorder records the hook calls, as the agent's uprobes would see them.
type recorder struct {
	annotations []annotation
	started     []started
	ended       []ended
	// writeTraceID, when set, is written into ids.TraceID at spanStarted, as
	// the agent does where bpf_probe_write_user is allowed.
	writeTraceID *trace.TraceID
}

type annotation struct {
	ctx context.Context
	buf []byte
}

type started struct {
	ctx context.Context
	s   *span
	ids spanIDs
}

type ended struct {
	s   *span
	buf []byte
}

// attach switches the attach state on, as the agent does, and records the
// hook calls until the test ends.
func attach(t *testing.T) *recorder {
	t.Helper()
	r := &recorder{}
	seam = &testSeam{
		annotate: func(ctx context.Context, buf []byte) {
			r.annotations = append(r.annotations, annotation{ctx, buf})
		},
		spanStarted: func(ctx context.Context, s *span, ids *spanIDs) {
			r.started = append(r.started, started{ctx, s, *ids})
			if r.writeTraceID != nil {
				ids.TraceID = *r.writeTraceID
			}
		},
		spanEnded: func(s *span, buf []byte) {
			r.ended = append(r.ended, ended{s, buf})
		},
	}
	atomic.StoreUint32(&state.attached, 1)
	t.Cleanup(func() {
		atomic.StoreUint32(&state.attached, 0)
		seam = nil
	})
	return r
}

// recordingSpan stands for a recording span of another SDK.
type recordingSpan struct {
	noop.Span
	sc trace.SpanContext
}

func (*recordingSpan) IsRecording() bool                { return true }
func (s *recordingSpan) SpanContext() trace.SpanContext { return s.sc }
