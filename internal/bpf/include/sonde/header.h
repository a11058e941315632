// Reading values of an http.Header (map[string][]string) straight from the
// target's memory, in one pass over the map: no probe hit per header line.
//
// Go 1.24+ maps are Swiss tables (internal/runtime/maps): Map.dirLen == 0
// means dirPtr is one group; otherwise dirPtr is an array of dirLen *table,
// each with groups.data / groups.lengthMask. A group is a uint64 control word
// (one byte per slot; high bit clear = slot full) then 8 slots of key+elem.
// Older maps are runtime.hmap: 2^B buckets of tophash[8], keys[8], elems[8],
// overflow pointer; tophash >= 5 marks a full slot.
#pragma once

#include "go.h"

#define MAP_SLOTS 8
#define HDR_KEY_SIZE 16  // string header
#define HDR_ELEM_SIZE 24 // []string header
#define HDR_SLOT_SIZE (HDR_KEY_SIZE + HDR_ELEM_SIZE)
#define MAX_MAP_TABLES 4
#define MAX_TABLE_GROUPS 16
#define MAX_BUCKETS 16

volatile const bool go_swiss_maps = true;
volatile const u64 swiss_map_dir_ptr_off = 0;
volatile const u64 swiss_map_dir_len_off = 0;
volatile const u64 swiss_table_groups_off = 0; // table.groups.data
volatile const u64 swiss_groups_mask_off = 8;  // groupsReference.lengthMask
volatile const u64 hmap_b_off = 9;
volatile const u64 hmap_buckets_off = 16;

// Header values Sonde wants, found in one scan.
struct header_values {
	u8 traceparent[64];
	u8 user_agent[128];
	u32 traceparent_len;
	u32 user_agent_len;
	u32 slots_seen;
	u32 pad;
};

static __always_inline bool key_is(const u8 *k, const char *want, int n)
{
	for (int i = 0; i < n; i++)
		if (k[i] != (u8)want[i])
			return false;
	return true;
}

// check_kv looks at one header: the key string at ka, the []string at ea.
static __always_inline void check_kv(u64 ka, u64 ea, struct header_values *out)
{
	struct go_string key = {};
	u8 k[16] = {};
	if (bpf_probe_read_user(&key, sizeof(key), (void *)ka))
		return;
	out->slots_seen++;
	if (key.len != 11 && key.len != 10)
		return;
	if (bpf_probe_read_user(k, 11, (void *)key.ptr))
		return;
	struct go_slice vals = {};
	if (key.len == 11 && key_is(k, "Traceparent", 11)) {
		if (bpf_probe_read_user(&vals, sizeof(vals), (void *)ea) || vals.len < 1)
			return;
		out->traceparent_len = read_go_string_at(out->traceparent, vals.ptr);
	} else if (key.len == 10 && key_is(k, "User-Agent", 10)) {
		if (bpf_probe_read_user(&vals, sizeof(vals), (void *)ea) || vals.len < 1)
			return;
		out->user_agent_len = read_go_string_at(out->user_agent, vals.ptr);
	}
}

// check_slot looks at a Swiss map slot: key, then elem.
static __always_inline void check_slot(u64 addr, struct header_values *out)
{
	check_kv(addr, addr + HDR_KEY_SIZE, out);
}

// Iteration state of a map scan; one bpf_loop step looks at one slot, so
// the verifier checks the step once instead of every path of nested loops.
struct map_scan {
	struct header_values *out;
	u64 dir;     // swiss: directory (or the single group); hmap: buckets
	s64 dir_len; // swiss: number of directory entries
	u64 table;   // swiss: current table (0: pick the next one)
	u64 groups;  // swiss: current table's groups; hmap: current bucket
	u64 mask;    // swiss: current table's lengthMask
	u64 ctrl;    // control word (swiss) or tophash bytes (hmap) of the group
	u32 t, g, s; // swiss: table index, group index, slot index
};

#define SWISS_GROUP_SIZE (8 + MAP_SLOTS * HDR_SLOT_SIZE)

// swiss_next_table loads the next distinct table of the directory; it
// returns false when there is none left.
static __always_inline bool swiss_next_table(struct map_scan *m)
{
	if (m->dir_len == 0) {
		if (m->t > 0)
			return false;
		m->t = 1;
		m->table = m->dir;
		m->groups = m->dir;
		m->mask = 0;
		return true;
	}
	for (int i = 0; i < MAX_MAP_TABLES; i++) {
		if (m->t >= MAX_MAP_TABLES || m->t >= m->dir_len)
			return false;
		u64 table = read_u64(m->dir + 8 * m->t);
		m->t++;
		if (!table || table == m->table)
			continue; // directory entries repeat a table
		m->table = table;
		m->groups = read_u64(table + swiss_table_groups_off);
		m->mask = read_u64(table + swiss_table_groups_off + swiss_groups_mask_off);
		return true;
	}
	return false;
}

static long swiss_step(u32 i, void *arg)
{
	struct map_scan *m = arg;
	u64 group = m->groups + (u64)m->g * SWISS_GROUP_SIZE;
	if (m->s == 0 && bpf_probe_read_user(&m->ctrl, sizeof(m->ctrl), (void *)group))
		return 1;
	u32 s = m->s & (MAP_SLOTS - 1);
	if (!((m->ctrl >> (8 * s)) & 0x80))
		check_slot(group + 8 + s * HDR_SLOT_SIZE, m->out);
	if (++m->s == MAP_SLOTS) {
		m->s = 0;
		if (++m->g > m->mask || m->g >= MAX_TABLE_GROUPS) {
			m->g = 0;
			if (!swiss_next_table(m))
				return 1;
		}
	}
	return 0;
}

#define HMAP_BUCKET_SIZE (MAP_SLOTS + MAP_SLOTS * HDR_SLOT_SIZE + 8)

#define HMAP_CHAIN 3 // a bucket and up to two overflow buckets

// hmap_step looks at slot i of the classic map: bucket i / (HMAP_CHAIN * 8),
// overflow link (i / 8) % HMAP_CHAIN, slot i % 8. Everything is derived
// from i, the only state kept is the bucket being read, so the verifier
// checks the step once instead of once per counter value.
static long hmap_step(u32 i, void *arg)
{
	struct map_scan *m = arg;
	u32 t = i / (HMAP_CHAIN * MAP_SLOTS);
	u32 link = (i / MAP_SLOTS) % HMAP_CHAIN;
	u32 s = i % MAP_SLOTS;
	if (t >= m->dir_len)
		return 1;
	if (s == 0) {
		if (link == 0)
			m->groups = m->dir + (u64)t * HMAP_BUCKET_SIZE;
		else if (m->groups)
			m->groups = read_u64(m->groups + HMAP_BUCKET_SIZE - 8);
		if (!m->groups ||
		    bpf_probe_read_user(&m->ctrl, sizeof(m->ctrl), (void *)m->groups))
			m->groups = 0; // no (more) overflow buckets here
	}
	if (!m->groups || ((m->ctrl >> (8 * s)) & 0xff) < 5)
		return 0;
	// A classic bucket keeps its 8 keys, then its 8 elems.
	u64 ka = m->groups + MAP_SLOTS + s * HDR_KEY_SIZE;
	u64 ea = m->groups + MAP_SLOTS + MAP_SLOTS * HDR_KEY_SIZE + s * HDR_ELEM_SIZE;
	check_kv(ka, ea, m->out);
	return 0;
}

// read_headers scans the http.Header map whose runtime map pointer is m.
static __always_inline void read_headers(u64 m, struct header_values *out)
{
	if (!m)
		return;
	struct map_scan st = {.out = out};
	if (go_swiss_maps) {
		st.dir = read_u64(m + swiss_map_dir_ptr_off);
		st.dir_len = (s64)read_u64(m + swiss_map_dir_len_off);
		if (!st.dir || !swiss_next_table(&st))
			return;
		bpf_loop(MAX_MAP_TABLES * MAX_TABLE_GROUPS * MAP_SLOTS, swiss_step, &st, 0);
	} else {
		u8 b = 0;
		bpf_probe_read_user(&b, 1, (void *)(m + hmap_b_off));
		st.dir = read_u64(m + hmap_buckets_off);
		st.dir_len = 1 << (b > 4 ? 4 : b);
		if (!st.dir)
			return;
		bpf_loop(MAX_BUCKETS * HMAP_CHAIN * MAP_SLOTS, hmap_step, &st, 0);
	}
}
