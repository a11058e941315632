// The client spans by the clientStream's context (its data pointer),
// for the propagation probe (inject.c): client.c files each span there
// while it runs.
#pragma once

#include "sonde/span.h"

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64);
	__type(value, struct span_context);
	__uint(max_entries, MAX_INFLIGHT);
} client_by_ctx SEC(".maps");

// client_ctx_span finds the client span of a context derived from a
// clientStream's (a few standard contexts up).
static __always_inline bool client_ctx_span(struct go_iface c, struct span_context *sc)
{
	for (int i = 0; i < 8 && c.data; i++) {
		struct span_context *f = bpf_map_lookup_elem(&client_by_ctx, &c.data);
		if (f) {
			*sc = *f;
			return true;
		}
		if (!is_parent_first_ctx(c.tab) || bpf_probe_read_user(&c, sizeof(c), (void *)c.data))
			break;
	}
	return false;
}
