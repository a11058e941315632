//go:build ignore

// One program per step that Sonde's probes take, each doing only that step
// once, so that the kernel's BPF run-time stats give the cost of each on a
// given machine (see bench_test.go). "empty" is the fixed cost of a run.
#include "sonde/types.h"
#include "sonde/regs.h"


#define BIG 2048

struct big {
	u8 b[BIG];
};

struct small {
	u8 b[40];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, struct big);
	__uint(max_entries, 1);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64);
	__type(value, struct small);
	__uint(max_entries, 16384);
} hash_small SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64);
	__type(value, struct big);
	__uint(max_entries, 16384);
} hash_big SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64);
	__type(value, struct small);
	__uint(max_entries, 16384);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64);
	__type(value, struct small);
	__uint(max_entries, 16384);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
} lru_percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} ring SEC(".maps");

static __always_inline struct big *buf(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

// key varies over 1024 goroutine-like IDs, as in-flight entries do.
static __always_inline u64 key(void)
{
	return bpf_get_prandom_u32() & 1023;
}

SEC("uprobe/empty")
int empty(struct pt_regs *ctx) { return 0; }

SEC("uprobe/ktime")
int ktime(struct pt_regs *ctx) { return bpf_ktime_get_ns() == 0; }

SEC("uprobe/prandom")
int prandom(struct pt_regs *ctx) { return bpf_get_prandom_u32() == 0; }

SEC("uprobe/read16")
int read16(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	return bpf_probe_read_user(b->b, 16, (void *)ctx->sp);
}

SEC("uprobe/read256")
int read256(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	return bpf_probe_read_user(b->b, 256, (void *)ctx->sp);
}

SEC("uprobe/read2048")
int read2048(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	return bpf_probe_read_user(b->b, BIG, (void *)ctx->sp);
}

SEC("uprobe/memset2048")
int memset2048(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	volatile u64 *w = (volatile u64 *)b->b; // not turned into memset
	for (int i = 0; i < BIG / 8; i++)
		w[i] = 0;
	return 0;
}

SEC("uprobe/hash_small_update")
int hash_small_update(struct pt_regs *ctx)
{
	struct small v = {};
	u64 k = key();
	return bpf_map_update_elem(&hash_small, &k, &v, BPF_ANY);
}

SEC("uprobe/hash_small_lookup")
int hash_small_lookup(struct pt_regs *ctx)
{
	u64 k = key();
	return bpf_map_lookup_elem(&hash_small, &k) != 0;
}

SEC("uprobe/hash_small_delete")
int hash_small_delete(struct pt_regs *ctx)
{
	u64 k = key();
	return bpf_map_delete_elem(&hash_small, &k);
}

SEC("uprobe/hash_big_update")
int hash_big_update(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	u64 k = key();
	return bpf_map_update_elem(&hash_big, &k, b, BPF_ANY);
}

SEC("uprobe/lru_update")
int lru_update(struct pt_regs *ctx)
{
	struct small v = {};
	u64 k = bpf_get_prandom_u32(); // goroutine IDs only grow: always new
	return bpf_map_update_elem(&lru, &k, &v, BPF_ANY);
}

SEC("uprobe/lru_percpu_update")
int lru_percpu_update(struct pt_regs *ctx)
{
	struct small v = {};
	u64 k = bpf_get_prandom_u32();
	return bpf_map_update_elem(&lru_percpu, &k, &v, BPF_ANY);
}

SEC("uprobe/ringbuf_wakeup")
int ringbuf_wakeup(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	return bpf_ringbuf_output(&ring, b, 1024, 0);
}

SEC("uprobe/ringbuf_nowakeup")
int ringbuf_nowakeup(struct pt_regs *ctx)
{
	struct big *b = buf();
	if (!b)
		return 0;
	return bpf_ringbuf_output(&ring, b, 1024, BPF_RB_NO_WAKEUP);
}

SEC("uprobe/ringbuf_reserve2048")
int ringbuf_reserve2048(struct pt_regs *ctx)
{
	u8 *r = bpf_ringbuf_reserve(&ring, BIG, 0);
	if (!r)
		return 0;
	r[0] = 1;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("uprobe/ringbuf_query")
int ringbuf_query(struct pt_regs *ctx)
{
	return bpf_ringbuf_query(&ring, BPF_RB_AVAIL_DATA) > 0;
}
