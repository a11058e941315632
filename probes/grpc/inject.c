//go:build ignore

// Outgoing trace context propagation for gRPC clients, where the kernel
// allows bpf_probe_write_user: one more probe hit per client RPC.
//
// Hook: the loopy writer's handling of a new client stream's headers,
// (*loopyWriter).clientHeaderHandler(hdr *clientHeaders) from v1.83,
// originateStream(str *outStream, hdr *headerFrame) before; it encodes
// hdr.hf with HPACK right after, on the same goroutine.
//
// The RPC's span: hdr.onOrphaned is NewStream's cleanup closure, which
// holds the transport stream (checked: the closure's function is
// NewStream.func1, whose only capture is the stream); the stream's context
// derives from the clientStream's, under which client.c files the span
// (client_by_ctx).
//
// The header: hdr.hf is a Go heap array (len == cap for a plain RPC), so
// the fields are copied, with every name and value byte, into a block of
// Sonde's arena (process.MapArena), a traceparent field added, and hdr.hf
// pointed at the block. Copying the bytes matters: the Go collector does
// not scan the arena, so a heap string only the old array referenced
// would be freed under it. Blocks are reused after BLOCKS more RPCs; the
// encoding reads the fields within this same call chain. An RPC whose
// headers do not fit a block is sent without the header (counted); one
// that carries the app's own traceparent is left alone.
#include "sonde/inflight.h"
#include "sonde/traceparent.h"
#include "client_ctx.h"

volatile const u64 hdr_hf_off = 0;       // headerFrame/clientHeaders.hf
volatile const u64 hdr_orphaned_off = 0; // headerFrame/clientHeaders.onOrphaned
volatile const u64 hdr_arg = 2;          // argument number of hdr
volatile const u64 cleanup_fn = 0;       // NewStream.func1
volatile const u64 cstream_emb_off = 0;  // ClientStream.Stream (v1.69+); 0 before
volatile const bool cstream_ptr = false; // ClientStream.Stream is a *Stream (v1.69-v1.76)
volatile const u64 cstream_ctx_off = 0;  // Stream.ctx
volatile const u64 arena_base = 0;       // 0: no arena, nothing written
volatile const u64 arena_magic0 = 0;
volatile const u64 arena_magic1 = 0;

#define ARENA_KEY_OFF 16 // "traceparent", after the magic
#define BLOCKS_OFF 4096
#define BLOCK_SIZE 4096
#define BLOCKS 256
#define FIELD_SIZE 40   // hpack.HeaderField{Name, Value string; Sensitive bool}
#define MAX_FIELDS 32   // fields copied, the added one included
#define STRINGS_OFF (MAX_FIELDS * FIELD_SIZE)
#define STR_MAX 1024    // longest name or value copied

enum grpc_inject_stat {
	GRPC_INJECT_DONE = 0,    // header added
	GRPC_INJECT_OWN = 1,     // the app's own traceparent: kept
	GRPC_INJECT_NO_ROOM = 2, // too many or too long fields: sent without
	GRPC_INJECT_NO_SPAN = 3, // no client span found for the stream
	GRPC_INJECT_MAX = 4,
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, GRPC_INJECT_MAX);
} grpc_inject SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, 1);
} grpc_arena_next SEC(".maps");

struct copy_buf {
	u8 field[FIELD_SIZE];
	u8 b[STR_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, struct copy_buf);
	__uint(max_entries, 1);
} grpc_copy_buf SEC(".maps");

const enum grpc_inject_stat *unused_grpc_inject_stat __attribute__((unused));

static __always_inline void inject_count(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&grpc_inject, &which);
	if (v)
		__sync_fetch_and_add(v, 1);
}

struct copy_state {
	u64 src;  // the old array
	u64 blk;  // the block
	u64 cur;  // next free string byte in the block
	s64 n;    // fields
	u8 own;   // a traceparent field was seen
	u8 full;  // did not fit
};

// copy_str copies the string (ptr, len) into the block and returns its
// new pointer, 0 when it does not fit.
static __always_inline u64 copy_str(struct copy_state *st, struct copy_buf *cb, u64 ptr, s64 len)
{
	if (len == 0)
		return ptr; // no bytes to keep alive
	if (len < 0 || len > STR_MAX || st->cur + len > st->blk + BLOCK_SIZE - TRACEPARENT_LEN) {
		st->full = 1;
		return 0;
	}
	// 1..STR_MAX in a form every verifier sees.
	u32 n = (((u32)len - 1) & (STR_MAX - 1)) + 1;
	if (bpf_probe_read_user(cb->b, n, (void *)ptr) ||
	    bpf_probe_write_user((void *)st->cur, cb->b, n)) {
		st->full = 1;
		return 0;
	}
	u64 at = st->cur;
	st->cur += (n + 7) & ~7;
	return at;
}

static long copy_field(u32 i, void *arg)
{
	struct copy_state *st = arg;
	if (i >= st->n || st->full)
		return 1;
	u32 zero = 0;
	struct copy_buf *cb = bpf_map_lookup_elem(&grpc_copy_buf, &zero);
	if (!cb)
		return 1;
	if (bpf_probe_read_user(cb->field, FIELD_SIZE, (void *)(st->src + (u64)i * FIELD_SIZE))) {
		st->full = 1;
		return 1;
	}
	struct go_string name, value;
	__builtin_memcpy(&name, cb->field, sizeof(name));
	__builtin_memcpy(&value, cb->field + 16, sizeof(value));
	if (name.len == 11) {
		u8 k[11] = {};
		if (!bpf_probe_read_user(k, 11, (void *)name.ptr) &&
		    __builtin_memcmp(k, "traceparent", 11) == 0) {
			st->own = 1;
			return 1;
		}
	}
	u64 np = copy_str(st, cb, name.ptr, name.len);
	u64 vp = copy_str(st, cb, value.ptr, value.len);
	if (st->full)
		return 1;
	__builtin_memcpy(cb->field, &np, 8);
	__builtin_memcpy(cb->field + 16, &vp, 8);
	if (bpf_probe_write_user((void *)(st->blk + (u64)i * FIELD_SIZE), cb->field, FIELD_SIZE)) {
		st->full = 1;
		return 1;
	}
	return 0;
}

SEC("uprobe/loopyWriter_clientHeaderHandler")
int inject_md(struct pt_regs *ctx)
{
	// Both read, then one chosen: a computed context offset is refused.
	u64 a2 = go_arg(ctx, 2), a3 = go_arg(ctx, 3);
	u64 hdr = hdr_arg == 3 ? a3 : a2;
	if (!hdr || !arena_base)
		return 0;
	u64 m[2] = {};
	if (bpf_probe_read_user(m, sizeof(m), (void *)arena_base) || m[0] != arena_magic0 ||
	    m[1] != arena_magic1)
		return 0; // the arena is not mapped (yet)

	// The stream, from NewStream's cleanup closure.
	u64 closure = read_u64(hdr + hdr_orphaned_off);
	if (!closure || !cleanup_fn || read_u64(closure) != cleanup_fn) {
		inject_count(GRPC_INJECT_NO_SPAN);
		return 0;
	}
	u64 s = read_u64(closure + 8);
	if (!s)
		return 0;
	u64 stream = s + cstream_emb_off; // the Stream
	if (cstream_ptr)
		stream = read_u64(stream);
	struct go_iface c = {};
	if (!stream || bpf_probe_read_user(&c, sizeof(c), (void *)(stream + cstream_ctx_off)))
		return 0;
	struct span_context sc = {};
	if (!client_ctx_span(c, &sc)) {
		inject_count(GRPC_INJECT_NO_SPAN);
		return 0;
	}

	struct go_slice hf = {};
	if (bpf_probe_read_user(&hf, sizeof(hf), (void *)(hdr + hdr_hf_off)) || !hf.ptr || hf.len < 1)
		return 0;
	if (hf.len >= MAX_FIELDS) {
		inject_count(GRPC_INJECT_NO_ROOM);
		return 0;
	}
	u32 zero = 0;
	u64 *next = bpf_map_lookup_elem(&grpc_arena_next, &zero);
	if (!next)
		return 0;
	u64 idx = __sync_fetch_and_add(next, 1) & (BLOCKS - 1);
	struct copy_state st = {.src = hf.ptr, .n = hf.len};
	st.blk = arena_base + BLOCKS_OFF + idx * BLOCK_SIZE;
	st.cur = st.blk + STRINGS_OFF;
	bpf_loop(MAX_FIELDS, copy_field, &st, 0);
	if (st.own) {
		inject_count(GRPC_INJECT_OWN);
		return 0;
	}
	if (st.full) {
		inject_count(GRPC_INJECT_NO_ROOM);
		return 0;
	}

	u8 val[TRACEPARENT_LEN];
	format_traceparent(val, &sc);
	if (bpf_probe_write_user((void *)st.cur, val, TRACEPARENT_LEN))
		return 0;
	u64 f[5] = {arena_base + ARENA_KEY_OFF, 11, st.cur, TRACEPARENT_LEN, 0};
	u64 at = st.blk + (u64)(hf.len & (MAX_FIELDS - 1)) * FIELD_SIZE;
	if (bpf_probe_write_user((void *)at, f, sizeof(f)))
		return 0;
	u64 ns[3] = {st.blk, hf.len + 1, hf.len + 1};
	if (bpf_probe_write_user((void *)(hdr + hdr_hf_off), ns, sizeof(ns)))
		return 0;
	inject_count(GRPC_INJECT_DONE);
	return 0;
}
