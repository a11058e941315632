//go:build ignore

// net/http server spans: serverHandler.ServeHTTP, entry and every return.
#include "sonde/inflight.h"
#include "sonde/traceparent.h"
#include "header.h"
#include "tracestate.h"

EVENT_KIND(http_server);
// The incoming tracestate of a server span, emitted at its start so that
// every span of its trace, ended before it, carries it too.
EVENT_KIND(trace_state);

struct trace_state_event {
	struct event_header hdr; // sc: the server span
	u32 len;                 // length in the request; > TRACESTATE_MAX: malformed
	u32 pad;
	u8 state[TRACESTATE_MAX + 1];
	u8 pad2[7];
};

const struct trace_state_event *unused_trace_state_event __attribute__((unused));

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 req_method_off = 0;
volatile const u64 req_url_off = 0;
volatile const u64 req_proto_major_off = 0;
volatile const u64 req_proto_minor_off = 0;
volatile const u64 req_header_off = 0;
volatile const u64 req_host_off = 0;
volatile const u64 req_remote_addr_off = 0;
volatile const u64 req_tls_off = 0;
volatile const u64 req_ctx_off = 0;
volatile const bool req_has_pattern = false; // Request.Pattern: Go 1.23+
volatile const u64 req_pattern_off = 0;
volatile const u64 url_path_off = 0;
volatile const u64 response_status_off = 0;
volatile const u64 h2_rw_rws_off = 0;
volatile const u64 h2_rws_status_off = 0;
// golang.org/x/net/http2's responseWriter.rws and responseWriterState.status.
volatile const u64 xh2_rw_rws_off = 0;
volatile const u64 xh2_rws_status_off = 0;
// Runtime addresses of the ResponseWriter itabs of *http.response and
// *http.http2responseWriter, to read the status code.
volatile const u64 itab_h1_response = 0;
volatile const u64 itab_h2_response = 0;

struct http_server_event {
	struct event_header hdr;
	u64 status;
	u32 path_len; // length in the target; > sizeof(path)-1 means truncated
	u8 proto_major;
	u8 proto_minor;
	u8 tls;
	u8 pad;
	u8 method[16];
	u8 path[256];
	u8 route[128];
	u8 host[128];
	u8 remote[64];
	u8 user_agent[128];
};

struct server_inflight {
	struct span_head head; // call.a: req
	struct http_server_event ev;
	struct header_values hv;
	struct go_iface rw;
};

SPAN_INFLIGHT(server, struct server_inflight, 0);

// Force the event type into BTF for bpf2go -type.
const struct http_server_event *unused_http_server_event __attribute__((unused));

// RW_XNET_H2 marks rw.data as a golang.org/x/net/http2
// *responseWriterState (no itab: runHandler takes a pointer).
#define RW_XNET_H2 1

// server_begin starts the server span of req on goroutine goid; rw is how
// its status will be read at the end.
static __always_inline int server_begin(u64 goid, u64 req, u64 rw_tab, u64 rw_data)
{
	struct server_inflight *f = span_begin(&server_inflight, &server_zero, goid,
					       req, 0, event_kind_http_server);
	if (!f)
		return 0;
	f->rw.tab = rw_tab;
	f->rw.data = rw_data;
	struct http_server_event *ev = &f->ev;

	read_go_string_at(ev->method, req + req_method_off);
	if (ev->method[0] == 'P' && ev->method[1] == 'R' && ev->method[2] == 'I' && !ev->method[3]) {
		// "PRI * HTTP/2.0": the HTTP/2 connection preface that an h2c
		// handler takes over, not a request.
		bpf_map_delete_elem(&server_inflight, &goid);
		return 0;
	}
	u64 url = read_u64(req + req_url_off);
	if (url) {
		struct go_string p = {};
		bpf_probe_read_user(&p, sizeof(p), (void *)(url + url_path_off));
		ev->path_len = p.len;
		read_go_string(ev->path, p.ptr, p.len);
	}
	read_go_string_at(ev->host, req + req_host_off);
	read_go_string_at(ev->remote, req + req_remote_addr_off);
	ev->proto_major = read_u64(req + req_proto_major_off);
	ev->proto_minor = read_u64(req + req_proto_minor_off);
	ev->tls = read_u64(req + req_tls_off) != 0;

	read_headers(read_u64(req + req_header_off), &f->hv);
	__builtin_memcpy(ev->user_agent, f->hv.user_agent, sizeof(ev->user_agent));

	ev->hdr.parent_remote =
		parse_traceparent(f->hv.traceparent, f->hv.traceparent_len, &ev->hdr.parent);

	// A server span is a root unless the caller sent its context; it is
	// the active span of the request's context and of this goroutine.
	struct go_iface rctx = {};
	bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(req + req_ctx_off));
	span_start(f, NULL, rctx.data, goid);
	if (ev->hdr.parent_remote && f->hv.ts.len > 0 && sampled(&ev->hdr.sc)) {
		struct trace_state_event *ts = bpf_ringbuf_reserve(&events, sizeof(*ts), 0);
		if (!ts) {
			count(COUNTER_RINGBUF_FULL);
			return 0;
		}
		__builtin_memcpy(&ts->hdr, &ev->hdr, sizeof(ts->hdr));
		ts->hdr.kind = event_kind_trace_state;
		ts->len = f->hv.ts.len;
		__builtin_memcpy(ts->state, f->hv.ts.state, sizeof(ts->state));
		bpf_ringbuf_submit(ts, 0);
		// For outgoing calls of this trace (the propagation probe, which
		// loads only where it can write them, reads this map).
		if (f->hv.ts.len <= TRACESTATE_MAX) {
			struct trace_key k;
			__builtin_memcpy(k.trace_id, ev->hdr.sc.trace_id, 16);
			bpf_map_update_elem(&trace_states, &k, &f->hv.ts, BPF_ANY);
		}
	}
	return 0;
}

SEC("uprobe/serverHandler_ServeHTTP")
int server_entry(struct pt_regs *ctx)
{
	// serverHandler.ServeHTTP(sh serverHandler, rw ResponseWriter, req *Request):
	// sh is one word (srv *Server), rw two, req one.
	return server_begin(goroutine_id(ctx), go_arg(ctx, 4), go_arg(ctx, 2), go_arg(ctx, 3));
}

SEC("uprobe/xnet_http2_runHandler")
int xh2_entry(struct pt_regs *ctx)
{
	// golang.org/x/net/http2.(*serverConn).runHandler(sc *serverConn,
	// rw *responseWriter, req *http.Request, handler func(...)): the
	// handler of one request stream, on its own goroutine.
	// Its responseWriterState, taken now: runHandler clears rw.rws when
	// the handler is done, before it returns.
	u64 rws = read_u64(go_arg(ctx, 2) + xh2_rw_rws_off);
	return server_begin(goroutine_id(ctx), go_arg(ctx, 3), RW_XNET_H2, rws);
}

SEC("uprobe/serverHandler_ServeHTTP_return")
int server_return(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	struct server_inflight *f = span_lookup(&server_inflight, goid);
	if (!f)
		return 0;
	struct http_server_event *ev = &f->ev;

	if (f->rw.tab == RW_XNET_H2) {
		if (f->rw.data)
			ev->status = read_u64(f->rw.data + xh2_rws_status_off);
	} else if (f->rw.tab && f->rw.tab == itab_h1_response) {
		ev->status = read_u64(f->rw.data + response_status_off);
	} else if (f->rw.tab && f->rw.tab == itab_h2_response) {
		u64 rws = read_u64(f->rw.data + h2_rw_rws_off);
		if (rws)
			ev->status = read_u64(rws + h2_rws_status_off);
	}
	if (req_has_pattern)
		read_go_string_at(ev->route, f->head.call.a + req_pattern_off);
	span_end(&server_inflight, goid, f, sizeof(*ev));
	return 0;
}
