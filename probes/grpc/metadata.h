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
	u8 gomap_buf[GOMAP_BUF_BYTES(16, 24)]; // the map walk's copy of a group
};

static __always_inline bool md_key_is(const u8 *k, const char *want, int n)
{
	for (int i = 0; i < n; i++)
		if (k[i] != (u8)want[i])
			return false;
	return true;
}

// md_visit looks at one metadata entry: copies of its key string header
// at kc and of its []string header at ec.
static __always_inline void md_visit(const void *kc, const void *ec, struct md_values *out)
{
	struct go_string key = *(const struct go_string *)kc;
	struct go_slice vals = *(const struct go_slice *)ec;
	u8 k[16] = {};
	if (key.len != 11 && key.len != 10)
		return;
	if (vals.len < 1)
		return;
	if (bpf_probe_read_user(k, key.len == 11 ? 11 : 10, (void *)key.ptr))
		return;
	if (key.len == 11 && md_key_is(k, "traceparent", 11))
		out->traceparent_len = read_go_string_at(out->traceparent, vals.ptr);
	else if (key.len == 10 && md_key_is(k, "tracestate", 10))
		out->tracestate_len = read_go_string_at(out->tracestate, vals.ptr);
}

#define GOMAP_KEY_SIZE 16  // string header
#define GOMAP_ELEM_SIZE 24 // []string header
#define GOMAP_OUT struct md_values
#define GOMAP_VISIT(kc, ec, out) md_visit(kc, ec, out)
#include "sonde/gomap.h"
