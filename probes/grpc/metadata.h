// The incoming gRPC metadata values the server probe wants (traceparent,
// tracestate), found in one walk of the metadata.MD map
// (map[string][]string, keys lowercase) of the stream's context.
#pragma once

#include "sonde/go.h"

struct md_values {
	u8 traceparent[64];
	u8 tracestate[256];
	u32 traceparent_len;
	u32 tracestate_len;
};

static __always_inline bool md_key_is(const u8 *k, const char *want, int n)
{
	for (int i = 0; i < n; i++)
		if (k[i] != (u8)want[i])
			return false;
	return true;
}

// md_visit looks at one metadata entry: the key string at ka, the []string
// at ea.
static __always_inline void md_visit(u64 ka, u64 ea, struct md_values *out)
{
	struct go_string key = {};
	u8 k[16] = {};
	if (bpf_probe_read_user(&key, sizeof(key), (void *)ka))
		return;
	if (key.len != 11 && key.len != 10)
		return;
	if (bpf_probe_read_user(k, key.len == 11 ? 11 : 10, (void *)key.ptr))
		return;
	struct go_slice vals = {};
	if (key.len == 11 && md_key_is(k, "traceparent", 11)) {
		if (bpf_probe_read_user(&vals, sizeof(vals), (void *)ea) || vals.len < 1)
			return;
		out->traceparent_len = read_go_string_at(out->traceparent, vals.ptr);
	} else if (key.len == 10 && md_key_is(k, "tracestate", 10)) {
		if (bpf_probe_read_user(&vals, sizeof(vals), (void *)ea) || vals.len < 1)
			return;
		out->tracestate_len = read_go_string_at(out->tracestate, vals.ptr);
	}
}

#define GOMAP_KEY_SIZE 16  // string header
#define GOMAP_ELEM_SIZE 24 // []string header
#define GOMAP_OUT struct md_values
#define GOMAP_VISIT(ka, ea, out) md_visit(ka, ea, out)
#include "sonde/gomap.h"
