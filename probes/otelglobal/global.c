//go:build ignore

// Manual spans of the OpenTelemetry global API (otel >= v1.33 with no SDK
// installed, its auto-instrumentation flag switched on): they go through
// go.opentelemetry.io/auto/sdk, whose (*tracer).start hook gives each span
// its context here and whose (*span).ended hook hands over the span,
// serialized as OTLP/JSON. Two probe hits per span, both entries.
#include "sonde/inflight.h"

EVENT_KIND(manual_span);

// A span longer than fits one record keeps its head and its last
// TAIL_MAX bytes (where the encoding puts status, parent and times).
#define TAIL_MAX 4096

struct manual_span_event {
	struct event_header hdr;
	u32 total;    // serialized length in the target
	u32 head_len; // bytes copied from its start (they follow the event)
	u32 tail_len; // bytes copied from its end (after the head)
	u32 pad;
};

#define HEAD_MAX (BLOB_LARGE - sizeof(struct manual_span_event) - TAIL_MAX)

// A started manual span, by its *sdk.span.
struct manual_span {
	struct span_context sc;
	struct span_context parent;
	struct span_activation act;
	u64 goid;     // that started it, then that ended it
	u64 start_ns;
	u64 ended_ns; // 0 until it ends; then the entry guards re-entry only
	u8 has_parent;
	u8 pad[7];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64); // *sdk.span
	__type(value, struct manual_span);
	__uint(max_entries, MAX_INFLIGHT);
} manual_spans SEC(".maps");

// Go re-runs a function's first instruction after growing its stack: a
// second start (or end) of the same span on the same goroutine within this
// time is that (a second: the re-run can take milliseconds under emulation;
// a new span at the same address starts afresh and is never taken for one).
#define REENTRY_NS 1000000000

static __always_inline bool reentry(struct manual_span *m, u64 goid, u64 at, u64 now)
{
	return m && m->goid == goid && at && now - at < REENTRY_NS;
}

const struct manual_span_event *unused_manual_span_event __attribute__((unused));

#ifdef SONDE_WRITE_IDS
// The first bytes of a trace.SpanContext (go.opentelemetry.io/otel/trace):
// traceID, spanID, traceFlags, as struct span_context starts.
#define SPAN_CONTEXT_HEAD 25
#endif

SEC("uprobe/sdk_tracer_start")
int start_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*tracer).start(t *tracer, ctx context.Context, spanPtr *span,
	//                 psc *trace.SpanContext, sampled *bool, sc *trace.SpanContext)
	struct go_iface cctx = {.tab = go_arg(ctx, 2), .data = go_arg(ctx, 3)};
	u64 span = go_arg(ctx, 4);
	if (!span)
		return 0;
	u64 now = bpf_ktime_get_ns();
	struct manual_span *old = bpf_map_lookup_elem(&manual_spans, &span);
	if (old && !old->ended_ns && reentry(old, goid, old->start_ns, now))
		return 0;
	struct manual_span m = {.goid = goid, .start_ns = now};
	m.has_parent = find_parent(cctx, goid, &m.parent);
	new_span(&m.sc, m.has_parent ? &m.parent : NULL);
	// Registered under the span itself: contexts holding it (valueCtx
	// values, see ctx_lookup) find it, and so does its goroutine.
	span_activate(&m.act, span, goid, &m.sc);
	bpf_map_update_elem(&manual_spans, &span, &m, BPF_ANY);
#ifdef SONDE_WRITE_IDS
	// Let the app see its span's IDs, and the parent's: sc and psc are
	// trace.SpanContext (traceID [16], spanID [8], traceFlags at 24); and
	// the sampling decision, so that an unsampled span records nothing.
	bpf_probe_write_user((void *)go_arg(ctx, 7), &m.sc, SPAN_CONTEXT_HEAD);
	if (m.has_parent)
		bpf_probe_write_user((void *)go_arg(ctx, 5), &m.parent, SPAN_CONTEXT_HEAD);
	if (!sampled(&m.sc)) {
		bool no = false;
		bpf_probe_write_user((void *)go_arg(ctx, 6), &no, sizeof(no));
	}
#endif
	return 0;
}

SEC("uprobe/sdk_span_ended")
int ended_entry(struct pt_regs *ctx)
{
	// (*span).ended(s *span, buf []byte)
	u64 goid = goroutine_id(ctx);
	u64 span = go_arg(ctx, 1);
	u64 buf = go_arg(ctx, 2);
	s64 len = go_arg(ctx, 3);
	u64 now = bpf_ktime_get_ns();
	struct manual_span_event ev = {};
	ev.hdr.kind = event_kind_manual_span;
	struct manual_span *m = bpf_map_lookup_elem(&manual_spans, &span);
	if (m && m->ended_ns) {
		if (reentry(m, goid, m->ended_ns, now))
			return 0;
		m = NULL; // an old span's entry at a reused address
	}
	if (m) {
		ev.hdr.sc = m->sc;
		if (m->has_parent)
			ev.hdr.parent = m->parent;
		span_deactivate_own(&m->act, &m->sc);
		m->goid = goid;
		m->ended_ns = now;
	} else {
		// Started before Sonde attached: a root of its own.
		struct manual_span t = {.goid = goid, .ended_ns = now};
		new_span(&ev.hdr.sc, NULL);
		bpf_map_update_elem(&manual_spans, &span, &t, BPF_ANY);
	}
	if (!buf || len <= 0)
		return 0;
	ev.total = len > 0x7fffffff ? 0x7fffffff : len;
	if (ev.total <= BLOB_LARGE - sizeof(ev)) {
		emit_bytes(&ev, sizeof(ev), __builtin_offsetof(struct manual_span_event, head_len),
			   buf, ev.total);
		return 0;
	}
	if (!sampled(&ev.hdr.sc))
		return 0;
	u8 *rec = bpf_ringbuf_reserve(&events, BLOB_LARGE, 0);
	if (!rec) {
		count(COUNTER_RINGBUF_FULL);
		return 0;
	}
	ev.head_len = HEAD_MAX;
	ev.tail_len = TAIL_MAX;
	if (bpf_probe_read_user(rec + sizeof(ev), HEAD_MAX, (void *)buf) ||
	    bpf_probe_read_user(rec + sizeof(ev) + HEAD_MAX, TAIL_MAX,
				(void *)(buf + ev.total - TAIL_MAX)))
		ev.head_len = ev.tail_len = 0;
	__builtin_memcpy(rec, &ev, sizeof(ev));
	bpf_ringbuf_submit(rec, 0);
	return 0;
}
