// The ring buffer every probe writes its finished spans to, and the header
// each event starts with.
#pragma once

#include "span.h"

#define EVENTS_SIZE (4 << 20)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, EVENTS_SIZE);
} events SEC(".maps");

// EVENT_KIND(name) declares the event kind of one span type of a probe:
// event_kind_<name>, a number the loader assigns at load (unique among
// all loaded probes) and under which it registers the probe's decoder
// named <name>. No probe knows another's numbers.
#define EVENT_KIND(name) volatile const u32 event_kind_##name = 0

// Header of every event. kind must stay the first field.
struct event_header {
	u32 kind;
	u32 flags;
	u64 start_ns; // bpf_ktime_get_ns (CLOCK_MONOTONIC)
	u64 end_ns;
	struct span_context sc;
	struct span_context parent; // all zero: no parent
	u8 parent_remote;           // parent came from another process
	u8 pad[7];
};

_Static_assert(sizeof(struct event_header) == 80, "event_header layout");

// emit copies an event of size sz into the ring buffer.
static __always_inline void emit(void *ev, u64 sz)
{
	if (bpf_ringbuf_output(&events, ev, sz, 0) != 0)
		count(COUNTER_RINGBUF_FULL);
}
