// The ring buffer every probe writes its finished spans to, and the header
// each event starts with.
#pragma once

#include "span.h"

// EVENTS_SIZE is the ring buffer's data size. Its pages count in the
// agent's resident memory twice (the data area is mapped back to back so
// that no record wraps): 8 MiB of RSS once records have cycled through.
// 1 MiB was tried and lost 1,801 of 10,001 spans when 10,000 held requests
// finished at once (reliability TestConcurrentInFlight): fixed-size
// records (a server span is 830 bytes, mostly unused string room) need
// the room; smaller records would allow a smaller buffer.
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

_Static_assert(sizeof(struct event_header) == 96, "event_header layout");

// WAKEUP_BYTES is how much unread data makes a submit wake the reader.
// Below it no event wakes anyone: the agent reads the ring buffer every
// few milliseconds (pipeline.PollInterval). A wakeup costs an
// inter-processor interrupt, which in a virtual machine costs more than
// the rest of a program's run.
#define WAKEUP_BYTES (EVENTS_SIZE / 8)

// wakeup_flag is the submit flag for the ring buffer's fill level now.
static __always_inline u64 wakeup_flag(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES ?
		       BPF_RB_FORCE_WAKEUP :
		       BPF_RB_NO_WAKEUP;
}

// emit copies an event of size sz into the ring buffer, unless its span is
// not sampled.
static __always_inline void emit(void *ev, u64 sz)
{
	if (!sampled(&((struct event_header *)ev)->sc))
		return;
	if (bpf_ringbuf_output(&events, ev, sz, wakeup_flag()) != 0)
		count(COUNTER_RINGBUF_FULL);
}

// Events that carry bytes copied from the target (a serialized span, an
// annotation) go out in a record of the smallest of three sizes that holds
// them: the ring buffer needs a size known to the verifier.
#define BLOB_SMALL 2048
#define BLOB_MEDIUM 16384
#define BLOB_LARGE 65536

// emit_sized reserves a record of size bytes, copies the hsz-byte event
// head, then n bytes from the target at src after it, stores how many were
// copied in the head's u32 at len_off, and submits it. It returns that
// number, or -1 when the buffer is full (counted).
static __always_inline long emit_sized(const void *head, u32 hsz, u32 len_off,
				       u64 src, u32 n, u32 size)
{
	if (!sampled(&((const struct event_header *)head)->sc))
		return 0;
	u8 *rec = bpf_ringbuf_reserve(&events, size, 0);
	if (!rec) {
		count(COUNTER_RINGBUF_FULL);
		return -1;
	}
	__builtin_memcpy(rec, head, hsz);
	if (n > size - hsz)
		n = size - hsz;
	if (n > 0 && bpf_probe_read_user(rec + hsz, n, (void *)src))
		n = 0;
	*(u32 *)(rec + len_off) = n;
	bpf_ringbuf_submit(rec, wakeup_flag());
	return n;
}

// emit_bytes emits the event head (hsz bytes, a constant) followed by up to
// BLOB_LARGE - hsz bytes of the target's memory at src, with the number
// copied in the head's u32 at len_off. It returns what emit_sized returns.
static __always_inline long emit_bytes(const void *head, u32 hsz, u32 len_off,
				       u64 src, u32 n)
{
	if (n <= BLOB_SMALL - hsz)
		return emit_sized(head, hsz, len_off, src, n, BLOB_SMALL);
	if (n <= BLOB_MEDIUM - hsz)
		return emit_sized(head, hsz, len_off, src, n, BLOB_MEDIUM);
	return emit_sized(head, hsz, len_off, src, n, BLOB_LARGE);
}
