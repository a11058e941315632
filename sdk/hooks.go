package sdk

import (
	"context"
	"sync/atomic"
)

// attachState is how the agent tells the sdk it is attached. The agent finds
// magic in the binary's data sections (no symbol table needed) and writes
// attached = 1, at magic+16, once from user space when it attaches.
type attachState struct {
	magic    [16]byte
	attached uint32
	_        uint32
}

// state is statically initialized, so its bytes, magic included, are in the
// binary's data section; attached reads it, so the linker keeps it.
var state = attachState{magic: [16]byte{'s', 'o', 'n', 'd', 'e', '-', 's', 'd', 'k', '-', 'a', 't', 't', 'a', 'c', 'h'}}

// attached reports whether a Sonde agent is attached to this process.
func attached() bool { return atomic.LoadUint32(&state.attached) != 0 }

// spanIDs is the identity of a span of TracerProvider, read by the agent at
// spanStarted. Its layout is fixed (56 bytes): the agent's BPF code reads it
// and, where the kernel allows bpf_probe_write_user, writes TraceID back.
type spanIDs struct {
	TraceID       [16]byte
	SpanID        [8]byte
	ParentTraceID [16]byte
	ParentSpanID  [8]byte
	Flags         uint8
	_             [7]byte
}

// spanIDs.Flags bits.
const (
	flagSampled       = 1 << 0 // the span is sampled
	flagForeignParent = 1 << 1 // the parent in ctx is valid and not a span of this sdk
	flagNewRoot       = 1 << 2 // the app asked for a new root (trace.WithNewRoot)
)

// The hooks: the agent's uprobes read their arguments (Go register ABI), so
// they stay empty, are never inlined, and are called only when attached.

// annotate carries one change (an encoded annotation) to the innermost eBPF
// span of ctx or of the calling goroutine.
//
//go:noinline
func annotate(ctx context.Context, buf []byte) {}

// spanStarted announces span s of TracerProvider, started from ctx, with
// the identity *ids. The agent may write ids.TraceID before it returns.
//
//go:noinline
func spanStarted(ctx context.Context, s *span, ids *spanIDs) {}

// spanEnded hands the agent the encoded span s at its first End.
//
//go:noinline
func spanEnded(s *span, buf []byte) {}

// seam lets this package's tests see the hook calls. It is nil in every
// other program and is read only on the attached path, after the hook.
var seam *testSeam

type testSeam struct {
	annotate    func(ctx context.Context, buf []byte)
	spanStarted func(ctx context.Context, s *span, ids *spanIDs)
	spanEnded   func(s *span, buf []byte)
}

func callAnnotate(ctx context.Context, buf []byte) {
	annotate(ctx, buf)
	if t := seam; t != nil {
		t.annotate(ctx, append([]byte(nil), buf...))
	}
}

func callSpanStarted(ctx context.Context, s *span, ids *spanIDs) {
	spanStarted(ctx, s, ids)
	if t := seam; t != nil {
		c := *ids
		t.spanStarted(ctx, s, &c)
		*ids = c
	}
}

func callSpanEnded(s *span, buf []byte) {
	spanEnded(s, buf)
	if t := seam; t != nil {
		t.spanEnded(s, append([]byte(nil), buf...))
	}
}
