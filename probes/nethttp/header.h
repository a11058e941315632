// The http.Header values the net/http probes want (traceparent,
// tracestate, User-Agent), found in one walk of the header map
// (map[string][]string).
#pragma once

#include "sonde/go.h"

// Header values found in one scan.
// W3C: a tracestate of up to 512 bytes must be propagated.
#define TRACESTATE_MAX 512

// A tracestate value as read: len is its length in the request (longer
// than TRACESTATE_MAX: malformed, only its head is kept).
struct trace_state {
	u32 len;
	u32 pad;
	u8 state[TRACESTATE_MAX + 1];
	u8 pad2[7];
};

struct header_values {
	u8 traceparent[64];
	u8 user_agent[128];
	struct trace_state ts;
	u32 traceparent_len;
	u32 user_agent_len;
	u32 slots_seen;
	u32 pad;
	u8 gomap_buf[GOMAP_BUF_BYTES(16, 24)]; // the map walk's copy of a group
};

static __always_inline bool key_is(const u8 *k, const char *want, int n)
{
	for (int i = 0; i < n; i++)
		if (k[i] != (u8)want[i])
			return false;
	return true;
}

// header_visit looks at one header: copies of its key string header at
// kc and of its []string header at ec. Keys are canonical
// (textproto.CanonicalMIMEHeaderKey).
static __always_inline void header_visit(const void *kc, const void *ec,
					 struct header_values *out)
{
	struct go_string key = *(const struct go_string *)kc;
	struct go_slice vals = *(const struct go_slice *)ec;
	u8 k[16] = {};
	out->slots_seen++;
	if (key.len != 11 && key.len != 10)
		return;
	if (bpf_probe_read_user(k, key.len == 11 ? 11 : 10, (void *)key.ptr))
		return;
	if (vals.len < 1)
		return;
	if (key.len == 10 && key_is(k, "Tracestate", 10)) {
		// Several tracestate lines are one list; only the first is kept.
		struct go_string v = {};
		if (bpf_probe_read_user(&v, sizeof(v), (void *)vals.ptr))
			return;
		if (v.len <= 0)
			return;
		out->ts.len = v.len > 0xffff ? 0xffff : v.len;
		u64 n = v.len > TRACESTATE_MAX ? TRACESTATE_MAX + 1 : (u64)v.len;
		n &= 0x3ff; // a bound the verifier sees
		if (n == 0 || n > TRACESTATE_MAX + 1)
			return;
		if (bpf_probe_read_user(out->ts.state, n, (void *)v.ptr))
			out->ts.len = 0;
	} else if (key.len == 11 && key_is(k, "Traceparent", 11)) {
		out->traceparent_len = read_go_string_at(out->traceparent, vals.ptr);
	} else if (key.len == 10 && key_is(k, "User-Agent", 10)) {
		out->user_agent_len = read_go_string_at(out->user_agent, vals.ptr);
	}
}

#define GOMAP_KEY_SIZE 16  // string header
#define GOMAP_ELEM_SIZE 24 // []string header
#define GOMAP_OUT struct header_values
#define GOMAP_VISIT(kc, ec, out) header_visit(kc, ec, out)
#include "sonde/gomap.h"

// read_headers scans the http.Header map whose runtime map pointer is m.
// A request with more headers than the walk covers and no traceparent
// among those it saw is counted: its traceparent may be among the rest.
static __always_inline void read_headers(u64 m, struct header_values *out)
{
	if (!gomap_walk(m, out) && out->traceparent_len == 0)
		count(COUNTER_MAP_WALK_INCOMPLETE);
}
