// Span contexts and the correlation maps shared by every probe.
//
// A span in flight is recorded twice: under the context.Context it lives in
// (the data pointer of that interface value) and under the goroutine that
// runs it. A new span finds its parent by walking its context's parent chain,
// then, when that finds nothing, by taking the innermost span of its own
// goroutine.
#pragma once

#include "go.h"
#include "gslot.h"

#define MAX_INFLIGHT 16384
#define CTX_WALK_DEPTH 16

// A span's identity. Its first 25 bytes are laid out as the start of
// go.opentelemetry.io/otel/trace.SpanContext (probes write them there).
struct span_context {
	u8 trace_id[16];
	u8 span_id[8];
	u8 flags; // W3C trace flags: SPAN_SAMPLED
	u8 pad[7];
};

#define SPAN_SAMPLED 1

// The sampler, set by the loader from OTEL_TRACES_SAMPLER(_ARG) or
// auto.WithSampler: decided once per trace, at its root; every span of the
// trace follows. Unsampled spans are correlated as usual but never emitted.
enum sampler_root {
	SAMPLER_ALWAYS_ON = 0,
	SAMPLER_ALWAYS_OFF = 1,
	SAMPLER_RATIO = 2, // traceidratio: sampler_threshold
};

volatile const u32 sampler_root = SAMPLER_ALWAYS_ON;
// Parent-based: a span with a parent (remote or in-process) follows its
// sampled flag; otherwise every span is decided by sampler_root (the same
// way for every span of a trace, since it depends on the trace ID only).
volatile const bool sampler_parent_based = true;
// Ratio sampling keeps a trace when the big-endian last 8 bytes of its ID,
// shifted right by one, are below this (as the OpenTelemetry Go SDK's
// TraceIDRatioBased does).
volatile const u64 sampler_threshold = 0;

static __always_inline u8 sample_root(const u8 *trace_id)
{
	switch (sampler_root) {
	case SAMPLER_ALWAYS_OFF:
		return 0;
	case SAMPLER_RATIO: {
		u64 x = 0;
		for (int i = 8; i < 16; i++)
			x = (x << 8) | trace_id[i];
		return (x >> 1) < sampler_threshold ? SPAN_SAMPLED : 0;
	}
	}
	return SPAN_SAMPLED;
}

static __always_inline bool sampled(const struct span_context *sc)
{
	return sc->flags & SPAN_SAMPLED;
}

// Counters the user space reads and reports; indexes are part of the ABI
// with internal/bpf.
enum sonde_counter {
	COUNTER_RINGBUF_FULL = 0,
	COUNTER_CTX_MAP_FULL = 1,
	COUNTER_G_MAP_FULL = 2,
	COUNTER_INFLIGHT_FULL = 3,
	// A Go map walk (gomap.h) ended before it had seen every entry the
	// map holds (more than its bounds cover) and missed what it looked for.
	COUNTER_MAP_WALK_INCOMPLETE = 4,
	COUNTER_MAX = 8,
};

// The span registered under each context (its data pointer): in
// ctx_spans (see gslot.h), else in spans_by_ctx. Use ctx_span.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64); // context data pointer
	__type(value, struct span_context);
	__uint(max_entries, MAX_INFLIGHT);
} spans_by_ctx SEC(".maps");

#define CTX_SLOTS 16384

GSLOT_MAPS(ctx_spans, struct span_context, CTX_SLOTS);

// ctx_span returns the span registered under the context data pointer
// key, or NULL.
static __always_inline struct span_context *ctx_span(u64 key)
{
	return gslot_find(&ctx_spans, CTX_SLOTS - 1, &spans_by_ctx, key);
}

// The active span of each goroutine: in goroutine_spans (the slot a
// hash of the goroutine ID picks, gslot.h), else in spans_by_goroutine.
// Use active_span.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64); // goroutine ID
	__type(value, struct span_context);
	__uint(max_entries, MAX_INFLIGHT);
} spans_by_goroutine SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, COUNTER_MAX);
} counters SEC(".maps");

// The span a goroutine inherits from the goroutine that created it (the
// creator's innermost span at the time), for its ctx-less calls; written
// by the goroutine fan-out probe (probes/goroutines). root is the
// goroutine whose own span it is: the inheritance holds while root still
// runs a span of that trace, so a pooled goroutine never keeps a parent
// whose request is over. A direct-mapped table (slot goid % size, goid
// kept to check): one lookup and a store per goroutine created, no hash
// update; a goroutine loses its entry to the one created
// GOROUTINE_SLOTS goroutines after it, as it would to an LRU's eviction.
struct inherited_span {
	struct span_context sc;
	u64 root;
	u64 goid;
};

#define GOROUTINE_SLOTS 16384

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32); // goroutine ID % GOROUTINE_SLOTS
	__type(value, struct inherited_span);
	__uint(max_entries, GOROUTINE_SLOTS);
} goroutine_parents SEC(".maps");

static __always_inline void count(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&counters, &which);
	if (v)
		__sync_fetch_and_add(v, 1);
}

GSLOT_MAPS(goroutine_spans, struct span_context, GOROUTINE_SLOTS);

// active_span returns the active span of goroutine goid, or NULL.
static __always_inline struct span_context *active_span(u64 goid)
{
	return gslot_find(&goroutine_spans, GOROUTINE_SLOTS - 1, &spans_by_goroutine, goid);
}

// set_active_span makes sc the active span of goroutine goid; false: no
// room (counted).
static __always_inline bool set_active_span(u64 goid, const struct span_context *sc)
{
	struct span_context *cur =
		gslot_claim(&goroutine_spans, GOROUTINE_SLOTS - 1, &spans_by_goroutine, goid, sc);
	if (!cur) {
		count(COUNTER_G_MAP_FULL);
		return false;
	}
	*cur = *sc;
	return true;
}

// clear_active_span leaves goroutine goid without an active span.
static __always_inline void clear_active_span(u64 goid)
{
	gslot_drop(&goroutine_spans, GOROUTINE_SLOTS - 1, &spans_by_goroutine, goid);
}

// goroutine_slot returns the goroutine_parents slot of goid.
static __always_inline struct inherited_span *goroutine_slot(u64 goid)
{
	u32 i = goid & (GOROUTINE_SLOTS - 1);
	return bpf_map_lookup_elem(&goroutine_parents, &i);
}

// Runtime addresses of the context.Context itabs of the standard context
// types whose parent Context is their first field (valueCtx, cancelCtx,
// timerCtx via its embedded cancelCtx, withoutCancelCtx, afterFuncCtx: see
// src/context/context.go). Zero when unknown.
volatile const u64 itab_value_ctx = 0;
volatile const u64 itab_cancel_ctx = 0;
volatile const u64 itab_timer_ctx = 0;
volatile const u64 itab_without_cancel_ctx = 0;
volatile const u64 itab_after_func_ctx = 0;

static __always_inline bool is_parent_first_ctx(u64 tab)
{
	return tab != 0 &&
	       (tab == itab_value_ctx || tab == itab_cancel_ctx ||
		tab == itab_timer_ctx || tab == itab_without_cancel_ctx ||
		tab == itab_after_func_ctx);
}

static __always_inline bool same_trace(const struct span_context *a,
				       const struct span_context *b)
{
	u64 a0, a1, b0, b1;
	__builtin_memcpy(&a0, a->trace_id, 8);
	__builtin_memcpy(&a1, a->trace_id + 8, 8);
	__builtin_memcpy(&b0, b->trace_id, 8);
	__builtin_memcpy(&b1, b->trace_id + 8, 8);
	return a0 == b0 && a1 == b1;
}

// inherited_span fills parent with the span goroutine goid inherited from
// its creator while that span's goroutine still works on its trace.
static __always_inline bool inherited_span(u64 goid, struct span_context *parent)
{
	struct inherited_span *in = goroutine_slot(goid);
	if (!in || in->goid != goid)
		return false;
	struct span_context *cur = active_span(in->root);
	if (!cur || !same_trace(cur, &in->sc))
		return false;
	*parent = in->sc;
	return true;
}

// Spans that live in a context as a value: trace.ContextWithSpan(ctx, s)
// makes a valueCtx whose val (an `any`) is s. The span probes that create
// such spans (manual spans of an SDK) register them in spans_by_ctx under
// their data pointer; these are the type descriptors of their types
// (probe.ContextSpans), zero when none is linked.
#define CTX_SPAN_TYPES 4
volatile const u64 ctx_span_types[CTX_SPAN_TYPES] = {};
volatile const u64 value_ctx_val_off = 32; // context.valueCtx.val

static __always_inline bool is_ctx_span(u64 tab)
{
	if (!tab)
		return false;
	for (int i = 0; i < CTX_SPAN_TYPES; i++)
		if (ctx_span_types[i] == tab)
			return true;
	return false;
}

// ctx_lookup returns the span registered under the context ctx itself or,
// for a valueCtx holding a registered span, under that span.
static __always_inline struct span_context *ctx_lookup(struct go_iface ctx)
{
	struct span_context *sc = ctx_span(ctx.data);
	if (sc || !ctx_span_types[0] || !ctx.tab || ctx.tab != itab_value_ctx)
		return sc;
	struct go_iface val = {};
	if (bpf_probe_read_user(&val, sizeof(val), (void *)(ctx.data + value_ctx_val_off)) ||
	    !is_ctx_span(val.tab))
		return NULL;
	return ctx_span(val.data);
}

// find_parent fills parent with the span that a new span started with ctx
// on goroutine goid belongs to: the innermost one registered along ctx's
// parent chain, else (goid not 0) the goroutine's active span. It returns
// false when there is none.
static __always_inline bool find_parent(struct go_iface ctx, u64 goid,
					struct span_context *parent)
{
	for (int i = 0; i < CTX_WALK_DEPTH && ctx.data != 0; i++) {
		struct span_context *sc = ctx_lookup(ctx);
		if (sc) {
			*parent = *sc;
			return true;
		}
		if (!is_parent_first_ctx(ctx.tab))
			break;
		if (bpf_probe_read_user(&ctx, sizeof(ctx), (void *)ctx.data))
			break;
	}
	if (goid) {
		struct span_context *sc = active_span(goid);
		if (sc) {
			*parent = *sc;
			return true;
		}
		return inherited_span(goid, parent);
	}
	return false;
}

static __always_inline void random_bytes(u8 *b, int n)
{
	for (int i = 0; i < n; i += 4) {
		u32 r = bpf_get_prandom_u32();
		__builtin_memcpy(b + i, &r, 4);
	}
}

// new_span fills sc with a fresh span ID and the trace ID of parent, or a
// fresh trace ID when parent is NULL, and the sampling decision: the
// parent's with a parent-based sampler, else the root sampler's.
static __always_inline void new_span(struct span_context *sc,
				     const struct span_context *parent)
{
	if (parent)
		__builtin_memcpy(sc->trace_id, parent->trace_id, 16);
	else
		random_bytes(sc->trace_id, 16);
	random_bytes(sc->span_id, 8);
	if (parent && sampler_parent_based)
		sc->flags = parent->flags & SPAN_SAMPLED;
	else
		sc->flags = sample_root(sc->trace_id);
}

// What a probe keeps to undo span_activate when its span ends.
struct span_activation {
	u64 ctx_key;
	u64 goid;
	struct span_context prev;     // the goroutine's span before this one
	struct span_context ctx_prev; // the span ctx_key held before this one
	u8 had_prev;
	u8 had_ctx_prev;
	u8 ctx_in_hash; // ctx_key's entry is in spans_by_ctx (gslot_claim_at)
	u8 pad[5];
};

// span_activate makes sc the active span of ctx_key (if not 0) and of the
// goroutine goid.
static __always_inline void span_activate(struct span_activation *a, u64 ctx_key,
					  u64 goid,
					  const struct span_context *sc)
{
	a->ctx_key = ctx_key;
	a->goid = goid;
	a->had_prev = 0;
	a->had_ctx_prev = 0;
	a->ctx_in_hash = 0;
	if (ctx_key) {
		// Another span may live in the same context (a child called
		// with its parent's ctx): keep it to restore on deactivation.
		struct span_context *old = ctx_span(ctx_key);
		if (old) {
			a->ctx_prev = *old;
			a->had_ctx_prev = 1;
			*old = *sc;
		} else {
			bool in_hash = false;
			old = gslot_claim_at(&ctx_spans, CTX_SLOTS - 1, &spans_by_ctx, ctx_key, sc,
					     &in_hash);
			if (old) {
				*old = *sc;
				a->ctx_in_hash = in_hash;
			} else {
				count(COUNTER_CTX_MAP_FULL);
				a->ctx_key = 0;
			}
		}
	}
	if (!goid)
		return;
	struct span_context *cur = active_span(goid);
	if (cur) {
		a->prev = *cur;
		a->had_prev = 1;
		*cur = *sc;
	} else if (!set_active_span(goid, sc)) {
		a->goid = 0;
	}
}

// restore_active_span makes the span a recorded before its own the active
// one of its goroutine again, or leaves it none.
static __always_inline void restore_active_span(const struct span_activation *a, u64 goid)
{
	if (!a->had_prev) {
		clear_active_span(goid);
		return;
	}
	struct span_context *cur = active_span(goid);
	if (cur)
		*cur = a->prev;
	else
		set_active_span(goid, &a->prev);
}

// span_deactivate undoes span_activate.
static __always_inline void span_deactivate(struct span_activation *a)
{
	if (a->ctx_key && a->had_ctx_prev) {
		struct span_context *cur = ctx_span(a->ctx_key);
		if (!cur)
			cur = gslot_claim(&ctx_spans, CTX_SLOTS - 1, &spans_by_ctx, a->ctx_key,
					  &a->ctx_prev);
		if (cur)
			*cur = a->ctx_prev;
	} else if (a->ctx_key) {
		gslot_drop_at(&ctx_spans, CTX_SLOTS - 1, &spans_by_ctx, a->ctx_key, a->ctx_in_hash);
	}
	if (a->goid)
		restore_active_span(a, a->goid);
}

static __always_inline bool same_span(const struct span_context *a,
				      const struct span_context *b)
{
	u64 x, y;
	__builtin_memcpy(&x, a->span_id, 8);
	__builtin_memcpy(&y, b->span_id, 8);
	return x == y;
}

// span_deactivate_own undoes span_activate for a span that may end out of
// order, on any goroutine (a manual span): the goroutine's active span is
// restored only while it is still sc.
static __always_inline void span_deactivate_own(struct span_activation *a,
						const struct span_context *sc)
{
	u64 goid = a->goid;
	a->goid = 0;
	span_deactivate(a);
	if (!goid)
		return;
	struct span_context *cur = active_span(goid);
	if (!cur || !same_span(cur, sc))
		return;
	restore_active_span(a, goid);
}
