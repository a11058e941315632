//go:build ignore

// gRPC server spans: one per stream (unary or streaming RPC) that
// grpc.Server handles, two probe hits per RPC and none per message.
//
// Start: (*Server).handleStream entry, on the goroutine that runs the
// handler; the span is active under the stream's context (which the
// handler's context derives from) and on that goroutine. End: the status
// write of the transport ((*http2Server).WriteStatus up to v1.68,
// writeStatus from v1.69; the same of the ServeHTTP transport) or, for a
// stream reset before any status (client cancel, deadline, protocol
// error), (*http2Server).closeStream, which a normal RPC does not call.
// Both can run for one stream, at once: the probe that deletes the
// in-flight entry ends the span (server_end). In-flight entries are keyed
// by the transport stream pointer.
#include "sonde/inflight.h"
#include "sonde/traceparent.h"
#include "metadata.h"
#include "status.h"

EVENT_KIND(grpc_server);

// Field offsets and addresses, set by the loader from the target's DWARF
// and symbol table.
// handleStream's stream is a *transport.Stream up to v1.68, then a
// *ServerStream that embeds a *Stream (v1.69-v1.76) or a Stream (v1.77+).
volatile const u64 server_stream_off = 0;    // ServerStream.Stream; 0 before v1.69
volatile const bool server_stream_ptr = false; // ServerStream.Stream is a *Stream
volatile const u64 stream_ctx_off = 0;       // Stream.ctx
volatile const u64 stream_method_off = 0;    // Stream.method
volatile const u64 value_ctx_key_off = 16;   // context.valueCtx.key
volatile const u64 md_incoming_key_type = 0; // type of metadata.mdIncomingKey; 0: unknown
volatile const u64 itab_http2_server = 0;    // *http2Server as transport.ServerTransport
volatile const u64 h2s_peer_addr_off = 0;    // http2Server.peer + peer.Peer.Addr
volatile const u64 itab_tcp_addr = 0;        // *net.TCPAddr as net.Addr
volatile const u64 tcp_addr_ip_off = 0;
volatile const u64 tcp_addr_port_off = 0;

#define METHOD_MAX 128
#define TRACESTATE_MAX 256

// How a server span ended.
enum grpc_end {
	GRPC_END_STATUS = 0, // the handler's status was written
	GRPC_END_RESET = 1,  // the stream was closed before a status
};

struct grpc_server_event {
	struct event_header hdr;
	__s32 code;       // status code written (GRPC_END_STATUS)
	u32 rst_code;   // HTTP/2 error code of the reset (GRPC_END_RESET)
	u8 end;         // enum grpc_end
	u8 rst;         // the server sent RST_STREAM (else the client did)
	u8 peer_ip_len; // 4 or 16; 0: unknown
	u8 pad;
	u32 peer_port;
	u32 method_len;     // length in the target
	u32 tracestate_len; // of the incoming tracestate copied
	u8 peer_ip[16];
	u8 method[METHOD_MAX];
	u8 message[GRPC_MESSAGE_MAX];
	u8 tracestate[TRACESTATE_MAX];
};

struct server_inflight {
	struct span_head head; // call.a: stream, call.b: its context's data pointer
	struct grpc_server_event ev;
	struct md_values md;
};

SPAN_INFLIGHT(server, struct server_inflight, BPF_F_NO_PREALLOC);

// Force the types into BTF for bpf2go -type.
const struct grpc_server_event *unused_grpc_server_event __attribute__((unused));
const enum grpc_end *unused_grpc_end __attribute__((unused));

// incoming_md returns the metadata.MD map of the stream context c: the
// value of the valueCtx metadata.NewIncomingContext made (key
// mdIncomingKey{}), at most a few contexts up (an InTapHandle may derive
// one). Without the key's type it takes the valueCtx right above the
// transport's cancel or timer context, which is where operateHeaders puts it.
static __always_inline u64 incoming_md(struct go_iface c)
{
	for (int i = 0; i < 4; i++) {
		if (!c.data || !itab_value_ctx || c.tab != itab_value_ctx)
			return 0;
		struct go_iface parent = {}, key = {};
		if (bpf_probe_read_user(&parent, sizeof(parent), (void *)c.data) ||
		    bpf_probe_read_user(&key, sizeof(key), (void *)(c.data + value_ctx_key_off)))
			return 0;
		bool hit = md_incoming_key_type
				   ? key.tab == md_incoming_key_type
				   : parent.tab && (parent.tab == itab_cancel_ctx || parent.tab == itab_timer_ctx);
		if (hit)
			return read_u64(c.data + value_ctx_val_off + 8); // an MD in an any: the map pointer
		c = parent;
	}
	return 0;
}

// read_peer reads the client's address from the HTTP/2 transport.
static __always_inline void read_peer(struct grpc_server_event *ev, struct go_iface tr)
{
	if (!itab_http2_server || tr.tab != itab_http2_server || !tr.data)
		return;
	struct go_iface addr = {};
	if (bpf_probe_read_user(&addr, sizeof(addr), (void *)(tr.data + h2s_peer_addr_off)))
		return;
	if (!itab_tcp_addr || addr.tab != itab_tcp_addr || !addr.data)
		return;
	struct go_slice ip = {};
	if (bpf_probe_read_user(&ip, sizeof(ip), (void *)(addr.data + tcp_addr_ip_off)))
		return;
	if (ip.len == 4) {
		if (bpf_probe_read_user(ev->peer_ip, 4, (void *)ip.ptr) == 0)
			ev->peer_ip_len = 4;
	} else if (ip.len == 16) {
		if (bpf_probe_read_user(ev->peer_ip, 16, (void *)ip.ptr) == 0)
			ev->peer_ip_len = 16;
	}
	ev->peer_port = read_u64(addr.data + tcp_addr_port_off);
}

SEC("uprobe/Server_handleStream")
int server_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*Server).handleStream(t transport.ServerTransport, stream *transport.ServerStream)
	// (*transport.Stream up to v1.68): s, t.tab, t.data, stream.
	struct go_iface tr = {.tab = go_arg(ctx, 2), .data = go_arg(ctx, 3)};
	u64 stream = go_arg(ctx, 4);
	if (!stream)
		return 0;
	u64 st = stream + server_stream_off; // the Stream
	if (server_stream_ptr)
		st = read_u64(st);
	struct go_iface sctx = {};
	bpf_probe_read_user(&sctx, sizeof(sctx), (void *)(st + stream_ctx_off));
	struct server_inflight *f = span_begin(&server_inflight, &server_zero, stream, stream,
					       sctx.data, event_kind_grpc_server);
	if (!f)
		return 0;
	struct grpc_server_event *ev = &f->ev;

	struct go_string m = {};
	bpf_probe_read_user(&m, sizeof(m), (void *)(st + stream_method_off));
	ev->method_len = m.len;
	read_go_string(ev->method, m.ptr, m.len);
	read_peer(ev, tr);

	gomap_walk(incoming_md(sctx), &f->md);
	ev->hdr.parent_remote =
		parse_traceparent(f->md.traceparent, f->md.traceparent_len, &ev->hdr.parent);
	if (ev->hdr.parent_remote && f->md.tracestate_len > 0) {
		__builtin_memcpy(ev->tracestate, f->md.tracestate, TRACESTATE_MAX);
		ev->tracestate_len = f->md.tracestate_len;
	}
	// A root unless the caller sent its context; the active span of the
	// stream's context (the handler's derives from it) and of this goroutine.
	span_start(f, NULL, sctx.data, goid);
	return 0;
}

// Ending a span. Both end probes can fire for one stream, at the same time
// on two CPUs: when a stream's deadline passes, the transport's timer
// goroutine resets it (closeStream) while the handler, woken by the same
// deadline, writes its status (writeStatus); a client's reset (its own
// deadline, a cancel) races the handler the same way. Each probe runs at
// the function's entry, before the transport's own check that the stream
// is done, so a lookup of the entry by both, then an emit by both, gave
// two spans with one span ID. The probe whose delete of the entry
// succeeds owns the end: the map's bucket lock lets only one delete
// succeed. Everything it needs is copied out of the entry before that
// delete (a deleted element may be reused at once), and the end probes
// write only to their copy, never to the shared entry.

// server_record returns a ring buffer record holding a copy of f's event
// with its end time, or NULL: the span is not sampled, or the buffer is
// full (*full set).
static __always_inline struct grpc_server_event *server_record(struct server_inflight *f,
								bool *full)
{
	*full = false;
	if (!sampled(&f->ev.hdr.sc))
		return NULL;
	struct grpc_server_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		*full = true;
		return NULL;
	}
	__builtin_memcpy(ev, &f->ev, sizeof(*ev));
	ev->hdr.end_ns = bpf_ktime_get_ns();
	return ev;
}

// server_end ends the span of stream if this probe claims its entry f:
// submits ev (discards it otherwise) and undoes the span's activation (the
// end may run on another goroutine than the handler's).
static __always_inline void server_end(u64 stream, struct server_inflight *f,
				       struct grpc_server_event *ev, bool full)
{
	struct span_activation act = f->head.act;
	struct span_context sc = f->ev.hdr.sc;
	if (bpf_map_delete_elem(&server_inflight, &stream) != 0) {
		// The other end probe claimed it.
		if (ev)
			bpf_ringbuf_discard(ev, BPF_RB_NO_WAKEUP);
		return;
	}
	span_deactivate_own(&act, &sc);
	if (ev)
		bpf_ringbuf_submit(ev, wakeup_flag());
	else if (full)
		count(COUNTER_RINGBUF_FULL);
}

SEC("uprobe/http2Server_writeStatus")
int server_status(struct pt_regs *ctx)
{
	// (t).writeStatus(s *ServerStream, st *status.Status) from v1.69,
	// (t).WriteStatus(s *Stream, st *status.Status) before: t, s, st.
	u64 stream = go_arg(ctx, 2);
	struct server_inflight *f = bpf_map_lookup_elem(&server_inflight, &stream);
	if (!f)
		return 0;
	bool full;
	struct grpc_server_event *ev = server_record(f, &full);
	if (ev) {
		read_status(go_arg(ctx, 3), &ev->code, ev->message);
		ev->end = GRPC_END_STATUS;
	}
	server_end(stream, f, ev, full);
	return 0;
}

SEC("uprobe/http2Server_closeStream")
int server_close(struct pt_regs *ctx)
{
	// (t).closeStream(s, rst bool, rstCode http2.ErrCode, eosReceived bool)
	u64 stream = go_arg(ctx, 2);
	struct server_inflight *f = bpf_map_lookup_elem(&server_inflight, &stream);
	if (!f)
		return 0;
	bool full;
	struct grpc_server_event *ev = server_record(f, &full);
	if (ev) {
		ev->end = GRPC_END_RESET;
		ev->rst = go_arg(ctx, 3) & 0xff;
		ev->rst_code = go_arg(ctx, 4);
	}
	server_end(stream, f, ev, full);
	return 0;
}
