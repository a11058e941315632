// Slot tables: state kept per key (a goroutine ID, a context pointer) in
// a direct-mapped array (the slot a hash of the key picks), backed by a
// hash map for the keys whose slot another key holds.
//
// An array slot is found by arithmetic, without the hashing, locking and
// element allocation of a hash map update (the most expensive step of the
// entry probes): a request's spans are kept in slots unless two
// keys of the same slot are in flight at once.
//
// A slot starts with a gslot_head. It is held by one key at a time:
// a claim adds 1 to claim and keeps the slot only when it then reads 1
// (every other claimer reads more and takes its 1 back). The kernels we
// support before 5.12 have no atomic compare-and-exchange or fetching add
// for BPF, only the plain atomic add, which is enough for this. spill
// counts the keys of the slot whose entry is in the hash map, so that a
// lookup looks there only when one may be. The key 0 is never stored.
#pragma once

#include "types.h"

struct gslot_head {
	u64 key;   // the holder; 0: free
	u32 claim; // 1 while held (more during a contested claim)
	u32 spill; // entries in the hash map of keys of this slot
};

#define GSLOT_READ(x) (*(volatile typeof(x) *)&(x))

// GSLOT_MAPS declares the array name (slots entries of { gslot_head, vtype }).
#define GSLOT_MAPS(name, vtype, slots)                                          \
	_Static_assert(((slots) & ((slots) - 1)) == 0, #name ": slots must be a power of two"); \
	struct name##_slot {                                                   \
		struct gslot_head h;                                           \
		vtype v;                                                       \
	};                                                                     \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_ARRAY);                              \
		__type(key, u32);                                              \
		__type(value, struct name##_slot);                             \
		__uint(max_entries, slots);                                    \
	} name SEC(".maps")

// gslot_at returns the slot of key: a multiplicative hash, which spreads
// consecutive goroutine IDs and aligned pointers alike.
static __always_inline struct gslot_head *gslot_at(void *slots, u32 mask, u64 key)
{
	u32 i = (u32)((key * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
	return bpf_map_lookup_elem(slots, &i);
}

// gslot_find returns the entry of key, in its slot or in hash,
// or NULL.
static __always_inline void *gslot_find(void *slots, u32 mask, void *hash, u64 key)
{
	if (!key)
		return NULL;
	struct gslot_head *h = gslot_at(slots, mask, key);
	if (!h)
		return NULL;
	if (GSLOT_READ(h->key) == key)
		return h + 1;
	if (!GSLOT_READ(h->spill))
		return NULL;
	return bpf_map_lookup_elem(hash, &key);
}

// gslot_claim returns the entry of key: the one it has, else a new one,
// in its slot when that is free (its content left from an earlier
// holder), else in hash (a copy of init). NULL: the hash map is full.
// *in_hash (if not NULL) tells which: give it to gslot_drop_at where
// another CPU may claim the same key at the same time.
static __always_inline void *gslot_claim_at(void *slots, u32 mask, void *hash, u64 key,
					    const void *init, bool *in_hash)
{
	if (!key)
		return NULL;
	struct gslot_head *h = gslot_at(slots, mask, key);
	if (!h)
		return NULL;
	bool dummy;
	if (!in_hash)
		in_hash = &dummy;
	*in_hash = false;
	if (GSLOT_READ(h->key) == key)
		return h + 1;
	*in_hash = true;
	if (GSLOT_READ(h->spill)) {
		void *v = bpf_map_lookup_elem(hash, &key);
		if (v)
			return v;
	}
	if (GSLOT_READ(h->claim) == 0) {
		__sync_fetch_and_add(&h->claim, 1);
		if (GSLOT_READ(h->claim) == 1) {
			GSLOT_READ(h->key) = key;
			*in_hash = false;
			return h + 1;
		}
		__sync_fetch_and_add(&h->claim, -1);
	}
	if (bpf_map_update_elem(hash, &key, init, BPF_NOEXIST) != 0)
		return NULL;
	__sync_fetch_and_add(&h->spill, 1);
	return bpf_map_lookup_elem(hash, &key);
}

static __always_inline void *gslot_claim(void *slots, u32 mask, void *hash, u64 key,
					 const void *init)
{
	return gslot_claim_at(slots, mask, hash, key, init, NULL);
}

// gslot_drop_at deletes the entry of key that gslot_claim_at made, in
// hash when in_hash, else in its slot (if it still holds it).
static __always_inline void gslot_drop_at(void *slots, u32 mask, void *hash, u64 key,
					  bool in_hash)
{
	if (!key)
		return;
	struct gslot_head *h = gslot_at(slots, mask, key);
	if (!h)
		return;
	if (in_hash) {
		if (bpf_map_delete_elem(hash, &key) == 0)
			__sync_fetch_and_add(&h->spill, -1);
		return;
	}
	if (GSLOT_READ(h->key) == key) {
		GSLOT_READ(h->key) = 0;
		__sync_fetch_and_add(&h->claim, -1);
	}
}

// gslot_drop deletes the entry of key, where only one CPU at a time
// claims and drops it (a goroutine's own entries).
static __always_inline void gslot_drop(void *slots, u32 mask, void *hash, u64 key)
{
	if (!key)
		return;
	struct gslot_head *h = gslot_at(slots, mask, key);
	if (!h)
		return;
	if (GSLOT_READ(h->key) == key) {
		GSLOT_READ(h->key) = 0;
		__sync_fetch_and_add(&h->claim, -1);
		return;
	}
	if (bpf_map_delete_elem(hash, &key) == 0)
		__sync_fetch_and_add(&h->spill, -1);
}
