// In-flight entries: the state a probe keeps for a call between its entry
// and its returns, in a hash map keyed by goroutine ID.
//
// An entry is built in place, from an all-zero value, never in a per-CPU
// scratch slot: another task preempting this one on the same CPU could
// reuse the slot.
#pragma once

#include "event.h"

// The call an in-flight entry belongs to: its identifying arguments. It
// must be the first member of every in-flight struct.
struct inflight_call {
	u64 a;
	u64 b;
};

// INFLIGHT_MAPS declares <name>_inflight (by goroutine ID) and <name>_zero
// (one all-zero value, never written) for in-flight entries of vtype.
#define INFLIGHT_MAPS(name, vtype, flags)                                       \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__type(key, u32);                                              \
		__type(value, vtype);                                           \
		__uint(max_entries, 1);                                        \
	} name##_zero SEC(".maps");                                            \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_HASH);                               \
		__type(key, u64);                                              \
		__type(value, vtype);                                           \
		__uint(max_entries, MAX_INFLIGHT);                             \
		__uint(map_flags, flags);                                      \
	} name##_inflight SEC(".maps")

// inflight_begin starts the entry of goroutine goid for the call (a, b) and
// returns it zeroed but for its call, or NULL: no goroutine, map full
// (counted), or the same call again. Go re-runs a function's first
// instruction after morestack grew the stack, so an entry probe can fire
// twice for one call; the second is ignored.
static __always_inline void *inflight_begin(void *inflight, void *zero_map,
					    u64 goid, u64 a, u64 b)
{
	u32 zero = 0;
	void *z = bpf_map_lookup_elem(zero_map, &zero);
	if (!z || !goid)
		return NULL;
	struct inflight_call *cur = bpf_map_lookup_elem(inflight, &goid);
	if (cur && cur->a == a && cur->b == b)
		return NULL;
	if (bpf_map_update_elem(inflight, &goid, z, BPF_ANY) != 0) {
		count(COUNTER_INFLIGHT_FULL);
		return NULL;
	}
	struct inflight_call *f = bpf_map_lookup_elem(inflight, &goid);
	if (f) {
		f->a = a;
		f->b = b;
	}
	return f;
}

// The head of every in-flight span entry: the call it belongs to and what
// to undo when the span ends. The span's event (starting with its
// event_header) follows it directly: SPAN_INFLIGHT checks that.
struct span_head {
	struct inflight_call call;
	struct span_activation act;
};

// SPAN_INFLIGHT declares the in-flight maps of a span probe whose entry
// type vtype is { struct span_head head; struct <x>_event ev; ... }.
#define SPAN_INFLIGHT(name, vtype, flags)                                       \
	_Static_assert(__builtin_offsetof(vtype, ev) == sizeof(struct span_head), \
		       #vtype ": ev must follow head");                        \
	INFLIGHT_MAPS(name, vtype, flags)

// span_header returns the event header of the in-flight entry f.
static __always_inline struct event_header *span_header(void *f)
{
	return (struct event_header *)((struct span_head *)f + 1);
}

// span_begin starts the in-flight span of goroutine goid for the call
// (a, b): an entry zeroed but for its call, its event kind and start time.
// It returns NULL when inflight_begin does.
static __always_inline void *span_begin(void *inflight, void *zero_map, u64 goid,
					u64 a, u64 b, u32 kind)
{
	void *f = inflight_begin(inflight, zero_map, goid, a, b);
	if (!f)
		return NULL;
	struct event_header *h = span_header(f);
	h->kind = kind;
	h->start_ns = bpf_ktime_get_ns();
	return f;
}

// span_start gives the span of f its identity and makes it active: a child
// of the remote parent already in its header (parent_remote set), else of
// the span found from ctx and goid (find_parent; ctx NULL: none is looked
// for), else the root of a new trace. The span becomes the active one of
// ctx_key (0: of no context) and of goroutine goid.
static __always_inline void span_start(void *f, const struct go_iface *ctx,
				       u64 ctx_key, u64 goid)
{
	struct event_header *h = span_header(f);
	if (h->parent_remote || (ctx && find_parent(*ctx, goid, &h->parent))) {
		new_span(&h->sc, &h->parent);
	} else {
		__builtin_memset(&h->parent, 0, sizeof(h->parent));
		new_span(&h->sc, NULL);
	}
	span_activate(&((struct span_head *)f)->act, ctx_key, goid, &h->sc);
}

// span_lookup returns the in-flight span of goroutine goid with its end
// time set, or NULL.
static __always_inline void *span_lookup(void *inflight, u64 goid)
{
	void *f = bpf_map_lookup_elem(inflight, &goid);
	if (f)
		span_header(f)->end_ns = bpf_ktime_get_ns();
	return f;
}

// span_end emits the event of f (sz bytes from its header), restores the
// spans it replaced as active, and deletes the entry.
static __always_inline void span_end(void *inflight, u64 goid, void *f, u64 sz)
{
	emit(span_header(f), sz);
	span_deactivate(&((struct span_head *)f)->act);
	bpf_map_delete_elem(inflight, &goid);
}

// Goroutine-slot in-flight maps: for a probe whose entries are keyed by
// goroutine ID, an array slot per goroutine (gslot.h) spares the hash map
// update and delete of every call; the hash map keeps the entries of
// goroutines whose slot is held. Use the g_ forms below with the name.
#define INFLIGHT_SLOTS 1024

// INFLIGHT_ZERO zeroes *p (a size a multiple of 8) with unrolled 8-byte
// stores: the compiler's memset takes at most a few hundred bytes, and a
// copy from the zero value would need bpf_probe_read_kernel, which lockdown
// in confidentiality mode refuses.
#define INFLIGHT_ZERO(p)                                                       \
	do {                                                                   \
		_Static_assert(sizeof(*(p)) % 8 == 0, "in-flight size");        \
		u64 *__w = (u64 *)(p);                                         \
		_Pragma("clang loop unroll(full)")                             \
		for (u32 __i = 0; __i < sizeof(*(p)) / 256; __i++) {           \
			__builtin_memset(__w + __i * 32, 0, 256);              \
			asm volatile("" ::: "memory");                         \
		}                                                              \
		__builtin_memset(__w + sizeof(*(p)) / 256 * 32, 0,             \
				 sizeof(*(p)) % 256);                          \
	} while (0)

#define G_SPAN_INFLIGHT(name, vtype, flags)                                     \
	SPAN_INFLIGHT(name, vtype, flags);                                     \
	typedef vtype name##_vtype;                                            \
	GSLOT_MAPS(name##_islots, vtype, INFLIGHT_SLOTS)

// g_inflight_find returns the in-flight entry of goroutine goid, or NULL.
#define g_inflight_find(name, goid)                                            \
	((name##_vtype *)gslot_find(&name##_islots, INFLIGHT_SLOTS - 1,        \
				    &name##_inflight, (goid)))

// g_inflight_drop deletes the in-flight entry of goroutine goid.
#define g_inflight_drop(name, goid)                                            \
	gslot_drop(&name##_islots, INFLIGHT_SLOTS - 1, &name##_inflight, (goid))

// g_span_begin is span_begin for the goroutine-slot maps of name.
#define g_span_begin(name, goid_, a_, b_, kind_)                                   \
	({                                                                     \
		name##_vtype *__f = NULL;                                      \
		u64 __g = (goid_), __a = (a_), __b = (b_);                        \
		u32 __z = 0;                                                   \
		void *__zero = bpf_map_lookup_elem(&name##_zero, &__z);        \
		name##_vtype *__cur = g_inflight_find(name, __g);              \
		if (__zero && __g &&                                           \
		    !(__cur && __cur->head.call.a == __a && __cur->head.call.b == __b)) { \
			__f = gslot_claim(&name##_islots, INFLIGHT_SLOTS - 1,  \
					  &name##_inflight, __g, __zero);      \
			if (!__f) {                                            \
				count(COUNTER_INFLIGHT_FULL);                  \
			} else {                                               \
				INFLIGHT_ZERO(__f);                            \
				__f->head.call.a = __a;                        \
				__f->head.call.b = __b;                        \
				span_header(__f)->kind = (kind_);               \
				span_header(__f)->start_ns = bpf_ktime_get_ns(); \
			}                                                      \
		}                                                              \
		__f;                                                           \
	})

// g_span_lookup is span_lookup for the goroutine-slot maps of name.
#define g_span_lookup(name, goid_)                                             \
	({                                                                     \
		name##_vtype *__f = g_inflight_find(name, (goid_));             \
		if (__f)                                                       \
			span_header(__f)->end_ns = bpf_ktime_get_ns();         \
		__f;                                                           \
	})

// g_span_end is span_end for the goroutine-slot maps of name.
#define g_span_end(name, goid_, f_, sz_)                                          \
	do {                                                                   \
		emit(span_header(f_), (sz_));                                  \
		span_deactivate(&(f_)->head.act);                              \
		g_inflight_drop(name, (goid_));                                \
	} while (0)
