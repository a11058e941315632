// Producer propagation, in the write variant (kafka_write.c) only: at
// (*Writer).WriteMessages' entry every message without a traceparent
// header is given one naming its PRODUCER span, before kafka-go copies the
// messages into its batches; at the return the span is taken from that
// header and the app's message is as it was (the batches keep their copy).
//
// The header's bytes live in Sonde's arena in the target (Go side:
// process.MapArena), which the Go runtime neither scans nor frees: key
// "traceparent" once, and a ring of slots each holding one Header value
// and its 55-byte value. A message with no headers (a nil slice) gets a
// one-element Headers slice in its slot; one whose Headers slice has spare
// capacity gets the header appended in place (that array stays the app's,
// on the Go heap, and only points into the arena). A message whose
// Headers are full is sent without one (counted): copying the app's
// headers out of the Go heap would hide their pointers from the
// collector. A slot is reused after ARENA_SLOTS more messages: a batch
// still unsent by then (asynchronous writer) would carry a later
// message's context.
#pragma once

#define ARENA_KEY_OFF 16     // "traceparent", after the 16-byte magic
#define ARENA_SLOTS_OFF 4096 // first slot
#define ARENA_SLOT_SIZE 128  // Header (40 bytes), then the value
#define ARENA_SLOTS 16384
#define ARENA_SIZE (ARENA_SLOTS_OFF + ARENA_SLOTS * ARENA_SLOT_SIZE)
#define SLOT_VALUE_OFF 48

// The arena's address and the magic Sonde writes at its start once it is
// mapped (two words); 0: no arena, nothing is written.
volatile const u64 arena_base = 0;
volatile const u64 arena_magic0 = 0;
volatile const u64 arena_magic1 = 0;

// What happened to each message looked at (Go: the tests read it).
enum kafka_inject_stat {
	INJECT_DONE = 0,    // given a traceparent
	INJECT_OWN = 1,     // carried the app's own: kept
	INJECT_NO_ROOM = 2, // Headers full: sent without one
	INJECT_NO_ARENA = 3, // calls seen before the arena was ready
	INJECT_MAX = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, INJECT_MAX);
} kafka_inject SEC(".maps");

// The next arena slot (modulo ARENA_SLOTS).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 1);
} kafka_arena_next SEC(".maps");

const enum kafka_inject_stat *unused_kafka_inject_stat __attribute__((unused));

#ifdef KAFKA_INJECT
// Only the write variant has code; both declare the variables and maps
// above, so that either object can be loaded with the same names.

static __always_inline void inject_count(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&kafka_inject, &which);
	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool arena_ready(void)
{
	u64 m[2] = {};
	if (!arena_base || bpf_probe_read_user(m, sizeof(m), (void *)arena_base))
		return false;
	return m[0] == arena_magic0 && m[1] == arena_magic1;
}


struct inject_loop {
	struct send_inflight *f;
};

static long inject_message(u32 i, void *arg)
{
	struct send_inflight *f = ((struct inject_loop *)arg)->f;
	if (i >= f->n)
		return 1;
	u64 msg = f->msgs + (u64)i * msg_size;
	struct span_context own = {};
	if (find_traceparent(msg, &own)) {
		inject_count(INJECT_OWN); // the app's own context is kept
		return 0;
	}
	struct go_slice hs = {};
	if (bpf_probe_read_user(&hs, sizeof(hs), (void *)(msg + msg_headers_off)))
		return 0;
	if (hs.ptr && (hs.len < 0 || hs.len >= hs.cap)) {
		inject_count(INJECT_NO_ROOM);
		return 0;
	}
	u32 zero = 0;
	u64 *next = bpf_map_lookup_elem(&kafka_arena_next, &zero);
	if (!next)
		return 0;
	u64 idx = __sync_fetch_and_add(next, 1) & (ARENA_SLOTS - 1);
	u64 slot = arena_base + ARENA_SLOTS_OFF + idx * ARENA_SLOT_SIZE;
	u64 dst = hs.ptr ? hs.ptr + (u64)hs.len * hdr_size : slot;

	bool has_parent = f->ev.hdr.parent_remote == 2;
	struct span_context sc = {};
	new_span(&sc, has_parent ? &f->ev.hdr.parent : NULL);
	u8 val[TRACEPARENT_LEN];
	format_traceparent(val, &sc);
	if (bpf_probe_write_user((void *)(slot + SLOT_VALUE_OFF), val, TRACEPARENT_LEN))
		return 0;
	// Header{Key string; Value []byte} (Vars checks this layout).
	u64 h[5] = {arena_base + ARENA_KEY_OFF, 11, slot + SLOT_VALUE_OFF, TRACEPARENT_LEN, TRACEPARENT_LEN};
	if (bpf_probe_write_user((void *)dst, h, sizeof(h)))
		return 0;
	if (!hs.ptr) {
		u64 s[3] = {slot, 1, 1};
		if (bpf_probe_write_user((void *)(msg + msg_headers_off), s, sizeof(s)))
			return 0;
	} else {
		s64 n = hs.len + 1;
		if (bpf_probe_write_user((void *)(msg + msg_headers_off + 8), &n, sizeof(n)))
			return 0;
	}
	inject_count(INJECT_DONE);
	return 0;
}

// inject_batch gives the messages of the WriteMessages call f their
// traceparent headers.
static __always_inline void inject_batch(struct send_inflight *f)
{
	if (!arena_ready()) {
		inject_count(INJECT_NO_ARENA);
		return;
	}
	struct inject_loop l = {.f = f};
	bpf_loop(BATCH_MAX, inject_message, &l, 0);
}

// injected_span fills sc from the traceparent header inject_message gave
// msg, and takes the header off the app's message again. False when msg
// has none of Sonde's.
static __always_inline bool injected_span(u64 msg, struct span_context *sc)
{
	if (!arena_base)
		return false;
	struct go_slice hs = {};
	if (bpf_probe_read_user(&hs, sizeof(hs), (void *)(msg + msg_headers_off)) || !hs.ptr ||
	    hs.len < 1 || hs.len > hs.cap)
		return false;
	u64 h = hs.ptr + (u64)(hs.len - 1) * hdr_size;
	struct go_string k = {};
	if (bpf_probe_read_user(&k, sizeof(k), (void *)(h + hdr_key_off)) ||
	    k.ptr != arena_base + ARENA_KEY_OFF)
		return false;
	struct go_slice v = {};
	u8 val[TRACEPARENT_LEN] = {};
	if (bpf_probe_read_user(&v, sizeof(v), (void *)(h + hdr_value_off)) || v.len != TRACEPARENT_LEN ||
	    bpf_probe_read_user(val, TRACEPARENT_LEN, (void *)v.ptr) || !parse_traceparent(val, TRACEPARENT_LEN, sc))
		return false;
	if (hs.ptr >= arena_base && hs.ptr < arena_base + ARENA_SIZE) {
		u64 z[3] = {};
		bpf_probe_write_user((void *)(msg + msg_headers_off), z, sizeof(z));
	} else {
		s64 n = hs.len - 1;
		bpf_probe_write_user((void *)(msg + msg_headers_off + 8), &n, sizeof(n));
	}
	return true;
}
#endif // KAFKA_INJECT
