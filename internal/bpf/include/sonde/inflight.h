// In-flight entries: the state a probe keeps for a call between its entry
// and its returns, in a hash map keyed by goroutine ID.
//
// An entry is built in place, from an all-zero value, never in a per-CPU
// scratch slot: another task preempting this one on the same CPU could
// reuse the slot.
#pragma once

#include "span.h"

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
