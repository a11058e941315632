//go:build ignore

// gRPC client spans: one per RPC made through a ClientConn, unary (Invoke)
// and streaming (NewStream) alike, since both run a clientStream: two
// probe hits per RPC and none per message.
//
// Start: (*clientStream).newAttemptLocked entry: the first attempt is made
// on the caller's goroutine while the stream is created; a retry's attempt
// is the same call again and is ignored. End: (*clientStream).finish
// entry, the single place a client stream ends (status received, error,
// cancellation), on whatever goroutine; it can run twice for one stream at
// once, and the first probe to delete the in-flight entry ends the span.
// Keyed by the *clientStream. An attempt begun once the stream has
// finished is ignored.
#include "sonde/inflight.h"
#include "status.h"
#include "client_ctx.h"

EVENT_KIND(grpc_client);

// Field offsets and addresses, set by the loader.
volatile const u64 cs_ctx_off = 0;          // clientStream.ctx
volatile const u64 cs_callhdr_off = 0;      // clientStream.callHdr
volatile const u64 cs_cc_off = 0;           // clientStream.cc
volatile const u64 cs_finished_off = 0;     // clientStream.finished
volatile const u64 callhdr_method_off = 0;  // transport.CallHdr.Method
volatile const u64 cc_target_off = 0;       // ClientConn.target
volatile const u64 cc_authority_off = 0;    // ClientConn.authority
volatile const u64 itab_status_error = 0;   // *internal/status.Error as error
volatile const u64 status_error_s_off = 0;  // internal/status.Error.s
volatile const u64 io_eof_addr = 0;         // the io.EOF variable

#define METHOD_MAX 128
#define TARGET_MAX 128

struct grpc_client_event {
	struct event_header hdr;
	u64 err_tab;    // itab of an error that is no status; 0: none
	__s32 code;       // status code (an error that is no status: -1)
	u32 method_len; // length in the target
	u8 method[METHOD_MAX];
	u8 target[TARGET_MAX];
	u8 authority[TARGET_MAX];
	u8 message[GRPC_MESSAGE_MAX];
};

struct client_inflight {
	struct span_head head; // call.a: clientStream, call.b: its context's data pointer
	struct grpc_client_event ev;
};

SPAN_INFLIGHT(client, struct client_inflight, BPF_F_NO_PREALLOC);

// Streams whose span has ended: *clientStream -> its context's data
// pointer. finish's entry ends the span before finish takes the stream's
// lock to set cs.finished, so a failed attempt's retry can still run
// newAttemptLocked after it; that one is ignored. A new stream at a reused
// address has another context.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, u64);
	__type(value, u64);
	__uint(max_entries, MAX_INFLIGHT);
} client_done SEC(".maps");

const struct grpc_client_event *unused_grpc_client_event __attribute__((unused));

SEC("uprobe/clientStream_newAttemptLocked")
int client_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*clientStream).newAttemptLocked(isTransparent bool)
	u64 cs = go_arg(ctx, 1);
	if (!cs)
		return 0;
	// A retry's attempt after the stream finished (its context was
	// cancelled while an attempt failed): the span has ended. cs.mu is
	// held here and by finish when it sets finished.
	u8 finished = 0;
	if (bpf_probe_read_user(&finished, 1, (void *)(cs + cs_finished_off)) || finished)
		return 0;
	struct go_iface cctx = {};
	bpf_probe_read_user(&cctx, sizeof(cctx), (void *)(cs + cs_ctx_off));
	u64 *done = bpf_map_lookup_elem(&client_done, &cs);
	if (done && *done == cctx.data)
		return 0;
	struct client_inflight *f = span_begin(&client_inflight, &client_zero, cs, cs, cctx.data,
					       event_kind_grpc_client);
	if (!f)
		return 0; // a retry of a stream in flight, or no room
	struct grpc_client_event *ev = &f->ev;

	u64 hdr = read_u64(cs + cs_callhdr_off);
	if (hdr) {
		struct go_string m = {};
		bpf_probe_read_user(&m, sizeof(m), (void *)(hdr + callhdr_method_off));
		ev->method_len = m.len;
		read_go_string(ev->method, m.ptr, m.len);
	}
	u64 cc = read_u64(cs + cs_cc_off);
	if (cc) {
		read_go_string_at(ev->target, cc + cc_target_off);
		read_go_string_at(ev->authority, cc + cc_authority_off);
	}

	// The parent is found like every probe's (the stream's context chain,
	// then the goroutine), but the span is made active nowhere: a stream
	// outlives the call that opened it and may end on another goroutine.
	struct event_header *h = span_header(f);
	if (find_parent(cctx, goid, &h->parent)) {
		new_span(&h->sc, &h->parent);
	} else {
		__builtin_memset(&h->parent, 0, sizeof(h->parent));
		new_span(&h->sc, NULL);
	}
	// For the propagation probe (inject.c), where it loads.
	if (cctx.data)
		bpf_map_update_elem(&client_by_ctx, &cctx.data, &h->sc, BPF_ANY);
	return 0;
}

// client_finish ends the span of a clientStream. finish can run twice for
// one stream, at once on two goroutines (a cancelled stream: the goroutine
// that watches its context, and the caller's RecvMsg that sees the
// cancellation), and the probe runs at its entry, before finish takes the
// stream's lock to check cs.finished. The probe whose delete of the
// in-flight entry succeeds emits the span; everything is copied out of the
// entry before that delete (a deleted element may be reused at once), and
// the status goes into the copy, never into the shared entry.
SEC("uprobe/clientStream_finish")
int client_finish(struct pt_regs *ctx)
{
	// (*clientStream).finish(err error): cs, err.tab, err.data.
	u64 cs = go_arg(ctx, 1);
	struct client_inflight *f = bpf_map_lookup_elem(&client_inflight, &cs);
	if (!f)
		return 0;
	struct grpc_client_event *ev = NULL;
	bool full = false;
	if (sampled(&f->ev.hdr.sc)) {
		ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
		full = !ev;
	}
	if (ev) {
		__builtin_memcpy(ev, &f->ev, sizeof(*ev));
		ev->hdr.end_ns = bpf_ktime_get_ns();
		u64 tab = go_arg(ctx, 2), data = go_arg(ctx, 3);
		if (!tab) {
			ev->code = 0;
		} else if (itab_status_error && tab == itab_status_error) {
			read_status(read_u64(data + status_error_s_off), &ev->code, ev->message);
		} else if (io_eof_addr && data == read_u64(io_eof_addr + 8)) {
			ev->code = 0; // finish treats io.EOF as success
		} else {
			ev->code = -1;
			ev->err_tab = tab;
		}
	}
	u64 sctx = f->head.call.b;
	// Before the entry goes: a retry's attempt must find the stream done.
	bpf_map_update_elem(&client_done, &cs, &sctx, BPF_ANY);
	if (bpf_map_delete_elem(&client_inflight, &cs) != 0) {
		// The other finish claimed it.
		if (ev)
			bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		return 0;
	}
	bpf_map_delete_elem(&client_by_ctx, &sctx);
	// No activation to undo: a client span is active nowhere.
	if (ev)
		bpf_ringbuf_submit(ev, wakeup_flag());
	else if (full)
		count(COUNTER_RINGBUF_FULL);
	return 0;
}
