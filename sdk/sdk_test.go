package sdk

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func TestLayout(t *testing.T) {
	if got := string(state.magic[:]); got != reverse("hcatta-kds-ednos") {
		t.Errorf("magic %q", got)
	}
	var a attachState
	if unsafe.Sizeof(a) != 24 || unsafe.Offsetof(a.attached) != 16 || unsafe.Alignof(a) < 4 {
		t.Errorf("attachState: size %d, attached at %d", unsafe.Sizeof(a), unsafe.Offsetof(a.attached))
	}
	var ids spanIDs
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"size", unsafe.Sizeof(ids), 56},
		{"TraceID", unsafe.Offsetof(ids.TraceID), 0},
		{"SpanID", unsafe.Offsetof(ids.SpanID), 16},
		{"ParentTraceID", unsafe.Offsetof(ids.ParentTraceID), 24},
		{"ParentSpanID", unsafe.Offsetof(ids.ParentSpanID), 40},
		{"Flags", unsafe.Offsetof(ids.Flags), 48},
	} {
		if c.got != c.want {
			t.Errorf("spanIDs %s: %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestStateSwitch(t *testing.T) {
	if attached() {
		t.Fatal("attached before the agent switched the state on")
	}
	r := attach(t)
	if !attached() {
		t.Fatal("not attached after attached = 1")
	}
	SpanFromContext(context.Background()).SetName("x")
	if len(r.annotations) != 1 {
		t.Fatalf("%d annotate calls", len(r.annotations))
	}
}

func TestUnattached(t *testing.T) {
	ctx := context.Background()
	if s := SpanFromContext(ctx); s.IsRecording() || s != trace.SpanFromContext(ctx) {
		t.Errorf("SpanFromContext = %T recording %v, want trace.SpanFromContext's no-op span", s, s.IsRecording())
	}
	rec := &recordingSpan{}
	rctx := trace.ContextWithSpan(ctx, rec)
	if s := SpanFromContext(rctx); s != trace.Span(rec) {
		t.Errorf("SpanFromContext = %T, want the recording span in ctx", s)
	}
	gotCtx, s := TracerProvider().Tracer("t").Start(rctx, "op", trace.WithAttributes(attribute.Int("a", 1)))
	if gotCtx != rctx || s.IsRecording() || s.SpanContext().IsValid() {
		t.Errorf("Start unattached: ctx changed %v, recording %v, valid %v", gotCtx != rctx, s.IsRecording(), s.SpanContext().IsValid())
	}
	s.SetAttributes(attribute.Int("b", 2))
	s.End()
	// Nothing observed the calls: seam is nil, and nothing was attached.
}

func TestUnattachedAllocs(t *testing.T) {
	ctx := context.Background()
	kv := []attribute.KeyValue{attribute.String("user.id", "42"), attribute.Int("n", 1)}
	if n := testing.AllocsPerRun(1000, func() { SpanFromContext(ctx).SetAttributes(kv...) }); n != 0 {
		t.Errorf("SpanFromContext+SetAttributes: %v allocs, want 0", n)
	}
	tr := TracerProvider().Tracer("t")
	if n := testing.AllocsPerRun(1000, func() {
		_, s := tr.Start(ctx, "op")
		s.End()
	}); n != 0 {
		t.Errorf("Start+End: %v allocs, want 0", n)
	}
}

func TestSpanFromContextAttached(t *testing.T) {
	attach(t)
	ctx := context.Background()
	h := SpanFromContext(ctx)
	if _, ok := h.(*ebpfSpan); !ok || !h.IsRecording() || h.SpanContext().IsValid() {
		t.Fatalf("SpanFromContext = %T, recording %v, valid %v; want the eBPF handle, recording, invalid", h, h.IsRecording(), h.SpanContext().IsValid())
	}
	if h.TracerProvider() != TracerProvider() {
		t.Error("handle's TracerProvider is not the sdk's")
	}
	rec := &recordingSpan{}
	if s := SpanFromContext(trace.ContextWithSpan(ctx, rec)); s != trace.Span(rec) {
		t.Errorf("SpanFromContext = %T, want the recording span of another SDK", s)
	}
	sctx, s := TracerProvider().Tracer("t").Start(ctx, "op")
	if got := SpanFromContext(sctx); got != s {
		t.Errorf("SpanFromContext = %T, want the sdk's span", got)
	}
	s.End()
	if _, ok := SpanFromContext(sctx).(*ebpfSpan); !ok {
		t.Error("an ended span is not recording: want the eBPF handle")
	}
	// A non-recording span in ctx (an unsampled remote parent) gives the handle.
	rctx := trace.ContextWithRemoteSpanContext(ctx, remote(0))
	if _, ok := SpanFromContext(rctx).(*ebpfSpan); !ok {
		t.Error("non-recording span in ctx: want the eBPF handle")
	}
}

func TestAnnotate(t *testing.T) {
	r := attach(t)
	type key struct{}
	ctx := context.WithValue(context.Background(), key{}, 1)
	h := SpanFromContext(ctx)
	h.SetAttributes()                       // nothing to send
	h.SetStatus(codes.Unset, "ignored")     // Unset changes nothing
	h.RecordError(nil)                      // no error
	addLink(h, linkA())                     // not for eBPF spans
	h.End()                                 // eBPF spans end on their own
	h.SetAttributes(attribute.KeyValue{})   // invalid: sent as a dropped count
	h.SetStatus(codes.Ok, "dropped for Ok") // description only with Error
	if len(r.annotations) != 2 {
		t.Fatalf("%d annotate calls, want 2", len(r.annotations))
	}
	for _, a := range r.annotations {
		if a.ctx != ctx {
			t.Error("annotate got another context")
		}
	}
	if got, want := r.annotations[0].buf, []byte{1, 2, 1, 0, 0, 0, 0, 0}; string(got) != string(want) {
		t.Errorf("SetAttributes(invalid) = %x, want %x", got, want)
	}
	if got, want := r.annotations[1].buf, []byte{1, 4, 2, 0, 0}; string(got) != string(want) {
		t.Errorf("SetStatus(Ok) = %x, want %x", got, want)
	}
	// A detached agent: the handle stops calling.
	state.attached = 0
	h.SetName("late")
	if len(r.annotations) != 2 {
		t.Error("annotate called while detached")
	}
}

func TestAnnotationAllocs(t *testing.T) {
	attach(t)
	seam = nil // the hook alone, as in production
	h := SpanFromContext(context.Background())
	kv := []attribute.KeyValue{attribute.String("user.id", "42"), attribute.Int("n", 1)}
	if n := testing.AllocsPerRun(1000, func() { h.SetAttributes(kv...) }); n != 0 {
		t.Errorf("attached SetAttributes on a handle: %v allocs, want 0", n)
	}
}

func remote(flags trace.TraceFlags) trace.SpanContext {
	ts, _ := trace.ParseTraceState("k=v")
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: trace.TraceID{9, 9, 9}, SpanID: trace.SpanID{8, 8}, TraceFlags: flags, TraceState: ts, Remote: true,
	})
}

func TestStartIDs(t *testing.T) {
	r := attach(t)
	tr := TracerProvider().Tracer("t")
	bg := context.Background()

	check := func(name string, ctx context.Context, opts []trace.SpanStartOption, wantFlags uint8, parent trace.SpanContext) *span {
		t.Helper()
		n := len(r.started)
		sctx, sp := tr.Start(ctx, name, opts...)
		if len(r.started) != n+1 {
			t.Fatalf("%s: %d spanStarted calls", name, len(r.started)-n)
		}
		st := r.started[n]
		s := sp.(*span)
		if st.s != s || st.ctx != ctx || trace.SpanFromContext(sctx) != sp {
			t.Errorf("%s: spanStarted(ctx, s) is not (parent ctx, the span ctx holds)", name)
		}
		sc := sp.SpanContext()
		if !sc.IsValid() || [16]byte(sc.TraceID()) != st.ids.TraceID || [8]byte(sc.SpanID()) != st.ids.SpanID {
			t.Errorf("%s: SpanContext %v does not match ids %x/%x", name, sc, st.ids.TraceID, st.ids.SpanID)
		}
		if st.ids.Flags != wantFlags {
			t.Errorf("%s: flags %03b, want %03b", name, st.ids.Flags, wantFlags)
		}
		if [16]byte(parent.TraceID()) != st.ids.ParentTraceID || [8]byte(parent.SpanID()) != st.ids.ParentSpanID {
			t.Errorf("%s: parent %x/%x, want %v", name, st.ids.ParentTraceID, st.ids.ParentSpanID, parent)
		}
		if parent.IsValid() && sc.TraceID() != parent.TraceID() {
			t.Errorf("%s: trace ID %v, want the parent's %v", name, sc.TraceID(), parent.TraceID())
		}
		if sp.IsRecording() != sc.IsSampled() || sc.IsSampled() != (wantFlags&flagSampled != 0) {
			t.Errorf("%s: recording %v, sampled %v", name, sp.IsRecording(), sc.IsSampled())
		}
		return s
	}

	root := check("root", bg, nil, flagSampled, trace.SpanContext{})
	rootCtx := trace.ContextWithSpan(bg, root)
	child := check("child", rootCtx, nil, flagSampled, root.sc)
	if child.sc.SpanID() == root.sc.SpanID() {
		t.Error("child has its parent's span ID")
	}
	rc := check("remote parent", trace.ContextWithRemoteSpanContext(bg, remote(trace.FlagsSampled)), nil,
		flagSampled|flagForeignParent, remote(trace.FlagsSampled))
	if rc.sc.TraceState().Get("k") != "v" || rc.sc.IsRemote() {
		t.Errorf("remote parent: tracestate %q remote %v", rc.sc.TraceState(), rc.sc.IsRemote())
	}
	check("unsampled remote parent", trace.ContextWithRemoteSpanContext(bg, remote(0)), nil,
		flagForeignParent, remote(0))
	other := &recordingSpan{sc: remote(trace.FlagsSampled)}
	check("span of another SDK", trace.ContextWithSpan(bg, other), nil, flagSampled|flagForeignParent, other.sc)
	nr := check("new root", rootCtx, []trace.SpanStartOption{trace.WithNewRoot()}, flagSampled|flagNewRoot, trace.SpanContext{})
	if nr.sc.TraceID() == root.sc.TraceID() {
		t.Error("new root kept the parent's trace ID")
	}
	// With no context at all, a root.
	var none context.Context
	if _, s := tr.Start(none, "nil ctx"); !s.SpanContext().IsValid() {
		t.Error("nil ctx: invalid span")
	}
}

func TestTraceIDWriteBack(t *testing.T) {
	r := attach(t)
	exported := trace.TraceID{0xe1, 0xe2, 0xe3}
	r.writeTraceID = &exported
	ctx, s := TracerProvider().Tracer("t").Start(context.Background(), "op")
	if got := s.SpanContext().TraceID(); got != exported {
		t.Fatalf("trace ID %v after the agent wrote %v", got, exported)
	}
	// Its children carry the written trace ID.
	r.writeTraceID = nil
	_, c := TracerProvider().Tracer("t").Start(ctx, "child")
	if c.SpanContext().TraceID() != exported || r.started[1].ids.ParentTraceID != exported {
		t.Errorf("child trace ID %v", c.SpanContext().TraceID())
	}
}

func TestEndOnce(t *testing.T) {
	r := attach(t)
	_, s := TracerProvider().Tracer("t").Start(context.Background(), "op")
	s.End()
	s.End()
	s.SetAttributes(attribute.Int("late", 1)) // ignored after End
	if len(r.ended) != 1 || r.ended[0].s != s {
		t.Fatalf("%d spanEnded calls, want 1 for the span", len(r.ended))
	}
	if s.IsRecording() {
		t.Error("recording after End")
	}
	if len(s.(*span).data.Attrs) != 0 {
		t.Error("attribute set after End")
	}
	// Unsampled spans end too, so the agent can forget them.
	_, u := TracerProvider().Tracer("t").Start(trace.ContextWithRemoteSpanContext(context.Background(), remote(0)), "u")
	u.SetAttributes(attribute.Int("a", 1))
	u.End()
	if len(r.ended) != 2 || len(u.(*span).data.Attrs) != 0 {
		t.Errorf("unsampled span: %d spanEnded calls, %d attributes", len(r.ended), len(u.(*span).data.Attrs))
	}
}

func TestSpanStatus(t *testing.T) {
	attach(t)
	_, sp := TracerProvider().Tracer("t").Start(context.Background(), "op")
	s := sp.(*span)
	steps := []struct {
		code codes.Code
		desc string
		want codes.Code
		wdes string
	}{
		{codes.Unset, "x", codes.Unset, ""},
		{codes.Error, "first", codes.Error, "first"},
		{codes.Error, "second", codes.Error, "second"},
		{codes.Unset, "x", codes.Error, "second"},
		{codes.Ok, "ignored", codes.Ok, ""},
		{codes.Error, "late", codes.Ok, ""},
		{codes.Code(9), "bad", codes.Ok, ""},
	}
	for _, st := range steps {
		s.SetStatus(st.code, st.desc)
		if codes.Code(s.data.StatusCode) != st.want || s.data.StatusDesc != st.wdes {
			t.Fatalf("after SetStatus(%v, %q): %v %q, want %v %q", st.code, st.desc,
				codes.Code(s.data.StatusCode), s.data.StatusDesc, st.want, st.wdes)
		}
	}
}

func TestSpanAttributes(t *testing.T) {
	attach(t)
	_, sp := TracerProvider().Tracer("t").Start(context.Background(), "op",
		trace.WithAttributes(attribute.String("a", "1"), attribute.KeyValue{}))
	s := sp.(*span)
	s.SetAttributes(attribute.String("a", "2"), attribute.Int("b", 1))
	if got := s.data.Attrs; len(got) != 2 || got[0].Value.AsString() != "2" || s.data.DroppedAttrs != 1 {
		t.Fatalf("attrs %v, dropped %d", got, s.data.DroppedAttrs)
	}
	// Past 32 attributes the index takes over; replacement still works.
	for i := range 100 {
		s.SetAttributes(attribute.Int(fmt.Sprint("k", i), i))
	}
	s.SetAttributes(attribute.Int("k5", -5), attribute.Int("k99", -99), attribute.String("a", "3"))
	if n := len(s.data.Attrs); n != 102 {
		t.Fatalf("%d attributes, want 102", n)
	}
	for _, kv := range s.data.Attrs {
		switch kv.Key {
		case "k5", "k99":
			if kv.Value.AsInt64() >= 0 {
				t.Errorf("%s not replaced", kv.Key)
			}
		case "a":
			if kv.Value.AsString() != "3" {
				t.Error("a not replaced")
			}
		}
	}
	for i := range maxElems {
		s.SetAttributes(attribute.Int(fmt.Sprint("m", i), i))
	}
	if len(s.data.Attrs) != maxElems || s.data.DroppedAttrs != 1+102 {
		t.Errorf("%d attributes kept, %d dropped", len(s.data.Attrs), s.data.DroppedAttrs)
	}
}

func TestSpanStartOptions(t *testing.T) {
	attach(t)
	tr := TracerProvider().Tracer("scope", trace.WithInstrumentationVersion("v1"), trace.WithSchemaURL("u"))
	if TracerProvider().Tracer("scope", trace.WithInstrumentationVersion("v1"), trace.WithSchemaURL("u")) != tr {
		t.Error("Tracer not cached per scope")
	}
	_, sp := tr.Start(context.Background(), "op", trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithTimestamp(t0), trace.WithLinks(linkA(), trace.Link{}))
	s := sp.(*span)
	d := s.data
	if d.Kind != trace.SpanKindProducer || d.Start != t0.UnixNano() || d.Scope != "scope" || d.ScopeVersion != "v1" || d.SchemaURL != "u" {
		t.Errorf("start: %+v", d)
	}
	if len(d.Links) != 1 { // a link with neither context nor attributes is ignored
		t.Errorf("%d links", len(d.Links))
	}
	_, sp = tr.Start(context.Background(), "op")
	if sp.(*span).data.Kind != trace.SpanKindInternal {
		t.Error("default kind is not internal")
	}
	if sp.TracerProvider() != TracerProvider() {
		t.Error("span's TracerProvider is not the sdk's")
	}
	sp.SetName("renamed")
	if sp.(*span).data.Name != "renamed" {
		t.Error("SetName")
	}
}

func TestRecordError(t *testing.T) {
	attach(t)
	_, sp := TracerProvider().Tracer("t").Start(context.Background(), "op")
	s := sp.(*span)
	s.RecordError(nil)
	s.RecordError(errors.New("plain"))
	s.RecordError(fmt.Errorf("wrapped: %w", errors.New("x")), trace.WithStackTrace(true), trace.WithAttributes(attribute.Int("n", 1)))
	s.RecordError(myErr{})
	if len(s.data.Events) != 3 {
		t.Fatalf("%d events", len(s.data.Events))
	}
	attrs := func(i int) map[string]string {
		m := map[string]string{}
		for _, kv := range s.data.Events[i].Attrs {
			m[string(kv.Key)] = kv.Value.Emit()
		}
		return m
	}
	e0, e1, e2 := attrs(0), attrs(1), attrs(2)
	if s.data.Events[0].Name != "exception" || e0["exception.type"] != "*errors.errorString" || e0["exception.message"] != "plain" {
		t.Errorf("event 0: %v", e0)
	}
	if e1["exception.type"] != "*fmt.wrapError" || !strings.Contains(e1["exception.stacktrace"], "TestRecordError") || e1["n"] != "1" {
		t.Errorf("event 1: %v", e1)
	}
	if _, ok := e0["exception.stacktrace"]; ok {
		t.Error("stack trace without WithStackTrace")
	}
	if e2["exception.type"] != "github.com/sonde-go/auto/sdk.myErr" {
		t.Errorf("event 2: %v", e2)
	}
	if s.data.StatusCode != 0 {
		t.Error("RecordError changed the status")
	}
}

type myErr struct{}

func (myErr) Error() string { return "mine" }

func TestEndDuringPanic(t *testing.T) {
	r := attach(t)
	var s trace.Span
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the panic to go on", p)
			}
		}()
		_, s = TracerProvider().Tracer("t").Start(context.Background(), "op")
		defer s.End(trace.WithStackTrace(true))
		panic("boom")
	}()
	if len(r.ended) != 1 {
		t.Fatal("span not ended")
	}
	ev := s.(*span).data.Events
	if len(ev) != 1 || ev[0].Name != "exception" || ev[0].Attrs[1].Value.AsString() != "boom" ||
		!strings.Contains(ev[0].Attrs[2].Value.AsString(), "panic") {
		t.Errorf("events %+v", ev)
	}
}

// reverse spells the magic at run time, so the test binary holds it once.
func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func TestConcurrentSpan(t *testing.T) {
	attach(t)
	seam = nil
	ctx, s := TracerProvider().Tracer("t").Start(context.Background(), "op")
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 200 {
				s.SetAttributes(attribute.Int(fmt.Sprint("g", g), i))
				s.AddEvent("e")
				_ = s.IsRecording()
				SpanFromContext(ctx).SetName("n")
				if i == 150 && g == 0 {
					s.End()
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	s.End()
}
