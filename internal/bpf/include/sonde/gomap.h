// Walking a Go map straight from the target's memory, in one bpf_loop pass
// over its slots: no probe hit per entry.
//
// Go 1.24+ maps are Swiss tables (internal/runtime/maps): Map.dirLen == 0
// means dirPtr is one group; otherwise dirPtr is an array of dirLen *table,
// each with groups.data / groups.lengthMask. A group is a uint64 control word
// (one byte per slot; high bit clear = slot full) then 8 slots of key+elem.
// Older maps are runtime.hmap: 2^B buckets of tophash[8], keys[8], elems[8],
// overflow pointer; tophash >= 5 marks a full slot.
//
// The includer defines, before including this file:
//   GOMAP_KEY_SIZE, GOMAP_ELEM_SIZE  sizes of the map's key and elem types
//                                    (no padding between them in a slot)
//   GOMAP_OUT                        the visitor's state type, with a
//                                    member u8 gomap_buf[GOMAP_BUF_BYTES(
//                                    key size, elem size)] (go.h)
//                                    (in a map value this walk alone uses)
//   GOMAP_VISIT(kc, ec, out)         called for each full slot with
//                                    pointers to copies of its key and
//                                    elem (in out->gomap_buf)
//
// A walk reads each group (bucket) whole, with one bpf_probe_read_user:
// a read costs about the same for 8 bytes as for a few hundred, and a
// visitor then finds the key and elem headers (a string's pointer and
// length) without reading them one by one.
#pragma once

#include "go.h"

#if !defined(GOMAP_KEY_SIZE) || !defined(GOMAP_ELEM_SIZE) || !defined(GOMAP_OUT) || !defined(GOMAP_VISIT)
#error "define GOMAP_KEY_SIZE, GOMAP_ELEM_SIZE, GOMAP_OUT and GOMAP_VISIT before including gomap.h"
#endif

#define GOMAP_SLOTS 8
#define GOMAP_SLOT_SIZE (GOMAP_KEY_SIZE + GOMAP_ELEM_SIZE)
#define GOMAP_SWISS_GROUP_SIZE (8 + GOMAP_SLOTS * GOMAP_SLOT_SIZE)
#define GOMAP_BUCKET_SIZE (GOMAP_SLOTS + GOMAP_SLOTS * GOMAP_SLOT_SIZE + 8)
#define GOMAP_BUF_SIZE GOMAP_BUF_BYTES(GOMAP_KEY_SIZE, GOMAP_ELEM_SIZE)
_Static_assert(sizeof(((GOMAP_OUT *)0)->gomap_buf) >= GOMAP_BUF_SIZE,
	       "GOMAP_OUT's gomap_buf holds a group and a bucket");
// Bounds of one walk: a Swiss table holds at most 1024 slots (128 groups,
// internal/runtime/maps maxTableCapacity); 8 tables and 128 classic
// buckets (B up to 7) cover maps of about 800 entries, such as a request with
// hundreds of headers. A walk stops at the map's end: small maps cost
// their own size only.
#define GOMAP_MAX_TABLES 8
#define GOMAP_MAX_TABLE_GROUPS 128
#define GOMAP_MAX_BUCKETS 128
#define GOMAP_CHAIN 3 // a classic bucket and up to two overflow buckets

// Map layout offsets, set by the loader from the target's DWARF.
volatile const bool go_swiss_maps = true;
volatile const u64 swiss_map_dir_ptr_off = 0;
volatile const u64 swiss_map_dir_len_off = 0;
volatile const u64 swiss_table_groups_off = 0; // table.groups.data
volatile const u64 swiss_groups_mask_off = 8;  // groupsReference.lengthMask
volatile const u64 hmap_b_off = 9;
volatile const u64 hmap_buckets_off = 16;

// Iteration state of a map scan; one bpf_loop step looks at one slot, so
// the verifier checks the step once instead of every path of nested loops.
// Kernels before 6.7 check a bpf_loop callback only once, with the state it
// is first called with, and drop the code that pass did not reach (6.1
// dropped the move to the next group: only group 0 was scanned). So a step
// takes its position from the loop index alone, and the state it tests is
// loaded from the target before the loop, values the verifier cannot know.
struct gomap_scan {
	GOMAP_OUT *out;
	u64 dir;     // swiss: directory (or the single group); hmap: buckets
	s64 dir_len; // swiss: number of directory entries; hmap: buckets
	u64 table;   // swiss: current table
	u64 groups;  // swiss: current table's groups (0: skip it); hmap: current bucket
	u64 mask;    // swiss: current table's lengthMask
	u64 ctrl;    // control word (swiss) or tophash bytes (hmap) of the group
	u64 seen;    // full slots visited
	// The group could not be read whole (its tail on a page the process
	// never touched: a fresh span's slots are written only when used),
	// only its control word: each full slot is read on its own.
	u64 partial;
};

// gomap_load_table points the scan at directory entry t, or at the single
// group when dir_len is 0; groups is 0 when the entry repeats the table
// before it (directory entries repeat a table) or cannot be read.
static __always_inline void gomap_load_table(struct gomap_scan *m, u32 t)
{
	if (m->dir_len == 0) {
		m->table = m->dir;
		m->groups = m->dir;
		m->mask = 0;
		return;
	}
	u64 table = read_u64(m->dir + 8 * t);
	if (!table || table == m->table) {
		m->groups = 0;
		return;
	}
	m->table = table;
	m->groups = read_u64(table + swiss_table_groups_off);
	m->mask = read_u64(table + swiss_table_groups_off + swiss_groups_mask_off);
}

// gomap_swiss_step looks at slot i % 8 of group (i / 8) %
// GOMAP_MAX_TABLE_GROUPS of directory entry i / (8 * GOMAP_MAX_TABLE_GROUPS).
static long gomap_swiss_step(u32 i, void *arg)
{
	struct gomap_scan *m = arg;
	u32 s = i % GOMAP_SLOTS;
	u32 g = (i / GOMAP_SLOTS) % GOMAP_MAX_TABLE_GROUPS;
	u32 t = i / (GOMAP_SLOTS * GOMAP_MAX_TABLE_GROUPS);
	if (t > 0) {
		if (t >= m->dir_len)
			return 1;
		if (g == 0 && s == 0)
			gomap_load_table(m, t);
	}
	if (!m->groups || g > m->mask)
		return t + 1 >= m->dir_len; // this table is done; stop after the last
	u8 *buf = m->out->gomap_buf;
	u64 group = m->groups + (u64)g * GOMAP_SWISS_GROUP_SIZE;
	if (s == 0) {
		m->partial = bpf_probe_read_user(buf, GOMAP_SWISS_GROUP_SIZE, (void *)group) != 0;
		if (m->partial && bpf_probe_read_user(buf, 8, (void *)group))
			return 1;
		m->ctrl = *(u64 *)buf;
	}
	if (!((m->ctrl >> (8 * s)) & 0x80)) {
		u8 *slot = buf + 8 + s * GOMAP_SLOT_SIZE;
		if (m->partial &&
		    bpf_probe_read_user(slot, GOMAP_SLOT_SIZE, (void *)(group + 8 + s * GOMAP_SLOT_SIZE)))
			return 0;
		m->seen++;
		GOMAP_VISIT(slot, slot + GOMAP_KEY_SIZE, m->out);
	}
	return 0;
}

// gomap_hmap_step looks at slot i of the classic map: bucket
// i / (GOMAP_CHAIN * 8), overflow link (i / 8) % GOMAP_CHAIN, slot i % 8.
// Everything is derived from i, the only state kept is the bucket being
// read, so the verifier checks the step once instead of once per counter
// value.
static long gomap_hmap_step(u32 i, void *arg)
{
	struct gomap_scan *m = arg;
	u32 t = i / (GOMAP_CHAIN * GOMAP_SLOTS);
	u32 link = (i / GOMAP_SLOTS) % GOMAP_CHAIN;
	u32 s = i % GOMAP_SLOTS;
	if (t >= m->dir_len)
		return 1;
	u8 *buf = m->out->gomap_buf;
	if (s == 0) {
		if (link == 0)
			m->groups = m->dir + (u64)t * GOMAP_BUCKET_SIZE;
		else if (m->groups && m->partial)
			m->groups = read_u64(m->groups + GOMAP_BUCKET_SIZE - 8);
		else if (m->groups)
			m->groups = *(u64 *)(buf + GOMAP_BUCKET_SIZE - 8); // overflow
		if (m->groups) {
			m->partial = bpf_probe_read_user(buf, GOMAP_BUCKET_SIZE, (void *)m->groups) != 0;
			if (m->partial && bpf_probe_read_user(buf, 8, (void *)m->groups))
				m->groups = 0; // no (more) overflow buckets here
		}
		if (m->groups)
			m->ctrl = *(u64 *)buf;
	}
	if (!m->groups || ((m->ctrl >> (8 * s)) & 0xff) < 5)
		return 0;
	// A classic bucket keeps its 8 keys, then its 8 elems.
	u64 koff = GOMAP_SLOTS + s * GOMAP_KEY_SIZE;
	u64 eoff = GOMAP_SLOTS + GOMAP_SLOTS * GOMAP_KEY_SIZE + s * GOMAP_ELEM_SIZE;
	if (m->partial &&
	    (bpf_probe_read_user(buf + koff, GOMAP_KEY_SIZE, (void *)(m->groups + koff)) ||
	     bpf_probe_read_user(buf + eoff, GOMAP_ELEM_SIZE, (void *)(m->groups + eoff))))
		return 0;
	m->seen++;
	GOMAP_VISIT(buf + koff, buf + eoff, m->out);
	return 0;
}

// The first words of a map header, read at once: Swiss Map.used and
// classic hmap.count are both its first word; the other fields the walk
// needs lie within GOMAP_HEAD_WORDS words (offsets from the loader).
#define GOMAP_HEAD_WORDS 8 // a power of two: the index is masked

static __always_inline u64 gomap_head_word(const u64 *w, u64 off)
{
	return w[(off / 8) & (GOMAP_HEAD_WORDS - 1)];
}

// gomap_walk visits the full slots of the map whose runtime map pointer is
// m (as a map-typed field holds it). It returns false when the map holds
// more entries than the walk visited (bounds reached, or unreadable).
static __always_inline bool gomap_walk(u64 m, GOMAP_OUT *out)
{
	if (!m)
		return true;
	u64 w[GOMAP_HEAD_WORDS] = {};
	if (bpf_probe_read_user(w, sizeof(w), (void *)m))
		return false;
	struct gomap_scan st = {.out = out};
	if (go_swiss_maps) {
		st.dir = gomap_head_word(w, swiss_map_dir_ptr_off);
		st.dir_len = (s64)gomap_head_word(w, swiss_map_dir_len_off);
		if (!st.dir)
			return w[0] == 0;
		gomap_load_table(&st, 0);
		// Read again by the first step; a value the verifier cannot
		// know until then (see struct gomap_scan).
		st.ctrl = w[0];
		st.partial = w[0];
		bpf_loop(GOMAP_MAX_TABLES * GOMAP_MAX_TABLE_GROUPS * GOMAP_SLOTS, gomap_swiss_step, &st, 0);
	} else {
		u8 b = (gomap_head_word(w, hmap_b_off) >> (8 * (hmap_b_off % 8))) & 0xff;
		st.dir = gomap_head_word(w, hmap_buckets_off);
		st.dir_len = 1 << (b > 7 ? 7 : b);
		if (!st.dir)
			return w[0] == 0;
		st.groups = st.dir;
		st.ctrl = w[0]; // as above
		st.partial = w[0];
		bpf_loop(GOMAP_MAX_BUCKETS * GOMAP_CHAIN * GOMAP_SLOTS, gomap_hmap_step, &st, 0);
	}
	return st.seen >= w[0];
}
