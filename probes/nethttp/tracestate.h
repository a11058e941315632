// The incoming tracestate of each trace a server span continues, for the
// propagation probe to send on with the trace's outgoing traceparent.
#pragma once

#include "header.h"

struct trace_key {
	u8 trace_id[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct trace_key);
	__type(value, struct trace_state);
	__uint(max_entries, 4096);
} trace_states SEC(".maps");
