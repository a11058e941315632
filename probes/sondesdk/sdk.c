//go:build ignore

// The companion sdk (github.com/sonde-go/auto/sdk): annotations that app
// code puts on eBPF spans (sdk.SpanFromContext(ctx).SetAttributes(...)),
// and the spans of sdk.TracerProvider(), whose IDs the app chose. Each is
// one probe hit on an empty hook function of the sdk, entry only: one per
// annotation, two per span.
#include "sonde/inflight.h"

EVENT_KIND(sdk_annotation);
EVENT_KIND(sdk_span);

// An annotation or a span, as the sdk encoded it; the bytes follow.
struct sdk_event {
	struct event_header hdr; // sc: the span annotated, or the span
	u32 len;                 // bytes copied
	u32 total;               // bytes the sdk passed
};

// The IDs of an sdk span as the app chose them (sdk.spanIDs).
struct span_ids {
	u8 trace_id[16];
	u8 span_id[8];
	u8 parent_trace_id[16];
	u8 parent_span_id[8];
	u8 flags;
	u8 pad[7];
};

_Static_assert(sizeof(struct span_ids) == 56, "sdk.spanIDs layout");

#define IDS_SAMPLED 1
#define IDS_FOREIGN_PARENT 2 // the app-side parent is not one of ours
#define IDS_NEW_ROOT 4

// A started sdk span, by its *sdk.span.
struct sdk_span {
	struct span_context sc;
	struct span_context parent;
	struct span_activation act;
	u8 has_parent;
	u8 sampled; // the app's decision: an unsampled span is not exported
	u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64); // *sdk.span
	__type(value, struct sdk_span);
	__uint(max_entries, MAX_INFLIGHT);
} sdk_spans SEC(".maps");

const struct sdk_event *unused_sdk_event __attribute__((unused));

static __always_inline u32 clamp_len(s64 len)
{
	return len <= 0 ? 0 : len > 0x7fffffff ? 0x7fffffff : (u32)len;
}

SEC("uprobe/sdk_annotate")
int annotate_entry(struct pt_regs *ctx)
{
	// annotate(ctx context.Context, buf []byte)
	struct go_iface cctx = {.tab = go_arg(ctx, 1), .data = go_arg(ctx, 2)};
	u64 buf = go_arg(ctx, 3);
	struct sdk_event ev = {};
	ev.hdr.kind = event_kind_sdk_annotation;
	if (!buf)
		return 0;
	// The innermost span: the goroutine's active one (a query's span,
	// inside the query, though its ctx is the request's), else the one of
	// ctx (a goroutine the request's context was handed to).
	u64 goid = goroutine_id(ctx);
	struct span_context *cur = active_span(goid);
	if (cur)
		ev.hdr.sc = *cur;
	else if (!find_parent(cctx, 0, &ev.hdr.sc))
		return 0; // no span in progress for that context or goroutine
	ev.total = clamp_len(go_arg(ctx, 4));
	emit_bytes(&ev, sizeof(ev), __builtin_offsetof(struct sdk_event, len), buf, ev.total);
	return 0;
}

SEC("uprobe/sdk_spanStarted")
int started_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// spanStarted(ctx context.Context, s *span, ids *spanIDs)
	struct go_iface cctx = {.tab = go_arg(ctx, 1), .data = go_arg(ctx, 2)};
	u64 span = go_arg(ctx, 3);
	struct span_ids ids = {};
	u64 ids_ptr = go_arg(ctx, 4);
	if (!span || bpf_probe_read_user(&ids, sizeof(ids), (void *)ids_ptr))
		return 0;
	struct sdk_span m = {.sampled = ids.flags & IDS_SAMPLED};
	__builtin_memcpy(m.sc.trace_id, ids.trace_id, 16);
	__builtin_memcpy(m.sc.span_id, ids.span_id, 8);
	if (ids.flags & IDS_NEW_ROOT) {
		// A root of its own: the app's trace ID.
	} else if (ids.flags & IDS_FOREIGN_PARENT) {
		// The app named its parent (a remote context it extracted, a span
		// of another SDK): keep it, and its trace.
		__builtin_memcpy(m.parent.trace_id, ids.parent_trace_id, 16);
		__builtin_memcpy(m.parent.span_id, ids.parent_span_id, 8);
		m.has_parent = 1;
	} else if (find_parent(cctx, goid, &m.parent)) {
		// An eBPF span or another sdk span: its trace, which the app may
		// not know (under lockdown nothing tells it).
		__builtin_memcpy(m.sc.trace_id, m.parent.trace_id, 16);
		m.has_parent = 1;
	}
	// Sampled as the app decided, except under an in-process parent,
	// whose trace's decision it follows.
	m.sc.flags = m.sampled ? SPAN_SAMPLED : 0;
	if (m.has_parent && !(ids.flags & IDS_FOREIGN_PARENT))
		m.sc.flags = m.parent.flags & SPAN_SAMPLED;
	span_activate(&m.act, span, goid, &m.sc);
	bpf_map_update_elem(&sdk_spans, &span, &m, BPF_ANY);
#ifdef SONDE_WRITE_IDS
	// The app then knows the trace its span is exported in.
	bpf_probe_write_user((void *)ids_ptr, m.sc.trace_id, 16);
#endif
	return 0;
}

SEC("uprobe/sdk_spanEnded")
int ended_entry(struct pt_regs *ctx)
{
	// spanEnded(s *span, buf []byte)
	u64 span = go_arg(ctx, 1);
	u64 buf = go_arg(ctx, 2);
	struct sdk_span *m = bpf_map_lookup_elem(&sdk_spans, &span);
	if (!m)
		return 0; // started before Sonde attached: it was not recorded
	struct sdk_event ev = {};
	ev.hdr.kind = event_kind_sdk_span;
	ev.hdr.sc = m->sc;
	if (m->has_parent)
		ev.hdr.parent = m->parent;
	span_deactivate_own(&m->act, &m->sc);
	u8 sampled = m->sampled;
	bpf_map_delete_elem(&sdk_spans, &span);
	ev.total = clamp_len(go_arg(ctx, 3));
	if (buf && sampled)
		emit_bytes(&ev, sizeof(ev), __builtin_offsetof(struct sdk_event, len), buf, ev.total);
	return 0;
}
