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
// Bytes of *Request from its start that hold every req_*_off field above
// but the pattern (largest offset + 16), set by the loader; 0 when over
// REQ_WINDOW_MAX. The entry copies them with one read: each
// bpf_probe_read_user costs about as much as the copy of 256 bytes.
volatile const u64 req_window = 0;
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

G_SPAN_INFLIGHT(server, struct server_inflight, 0);

// Force the event type into BTF for bpf2go -type.
const struct http_server_event *unused_http_server_event __attribute__((unused));

#define REQ_WINDOW_MAX 512

// A copy of the start of a *Request, per CPU (a program runs on one CPU).
struct req_copy {
	u8 b[REQ_WINDOW_MAX + 16];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, struct req_copy);
	__uint(max_entries, 1);
} req_copies SEC(".maps");

// req_u64 is the word at off in the copy.
static __always_inline u64 req_u64(const struct req_copy *c, u64 off)
{
	return *(const u64 *)(c->b + (off & (REQ_WINDOW_MAX - 1)));
}

// req_field copies the 16 bytes at off of req into c, where the one-read
// copy could not be made.
static __always_inline void req_field(struct req_copy *c, u64 req, u64 off)
{
	bpf_probe_read_user(c->b + (off & (REQ_WINDOW_MAX - 1)), 16, (void *)(req + off));
}

// copy_request fills c with every field the entry reads from req: one
// read of the window, else (no window, or its end not readable) one read
// per field.
static __always_inline struct req_copy *copy_request(u64 req)
{
	u32 zero = 0;
	struct req_copy *c = bpf_map_lookup_elem(&req_copies, &zero);
	if (!c)
		return NULL;
	u64 n = req_window;
	if (n > 0 && n <= REQ_WINDOW_MAX && bpf_probe_read_user(c->b, n, (void *)req) == 0)
		return c;
	__builtin_memset(c->b, 0, sizeof(c->b));
	if (req_method_off >= REQ_WINDOW_MAX || req_url_off >= REQ_WINDOW_MAX ||
	    req_proto_major_off >= REQ_WINDOW_MAX || req_proto_minor_off >= REQ_WINDOW_MAX ||
	    req_header_off >= REQ_WINDOW_MAX || req_host_off >= REQ_WINDOW_MAX ||
	    req_remote_addr_off >= REQ_WINDOW_MAX || req_tls_off >= REQ_WINDOW_MAX ||
	    req_ctx_off >= REQ_WINDOW_MAX)
		return NULL;
	req_field(c, req, req_method_off);
	req_field(c, req, req_url_off);
	req_field(c, req, req_proto_major_off);
	req_field(c, req, req_proto_minor_off);
	req_field(c, req, req_header_off);
	req_field(c, req, req_host_off);
	req_field(c, req, req_remote_addr_off);
	req_field(c, req, req_tls_off);
	req_field(c, req, req_ctx_off);
	return c;
}

// RW_XNET_H2 marks rw.data as a golang.org/x/net/http2
// *responseWriterState (no itab: runHandler takes a pointer).
#define RW_XNET_H2 1

// server_begin starts the server span of req on goroutine goid; rw is how
// its status will be read at the end.
static __always_inline int server_begin(u64 goid, u64 req, u64 rw_tab, u64 rw_data)
{
	struct server_inflight *f = g_span_begin(server, goid, req, 0, event_kind_http_server);
	if (!f)
		return 0;
	f->rw.tab = rw_tab;
	f->rw.data = rw_data;
	struct http_server_event *ev = &f->ev;
	struct req_copy *rc = copy_request(req);
	if (!rc) {
		g_inflight_drop(server, goid);
		return 0;
	}

	read_go_string(ev->method, req_u64(rc, req_method_off), req_u64(rc, req_method_off + 8));
	if (ev->method[0] == 'P' && ev->method[1] == 'R' && ev->method[2] == 'I' && !ev->method[3]) {
		// "PRI * HTTP/2.0": the HTTP/2 connection preface that an h2c
		// handler takes over, not a request.
		g_inflight_drop(server, goid);
		return 0;
	}
	u64 url = req_u64(rc, req_url_off);
	if (url) {
		struct go_string p = {};
		bpf_probe_read_user(&p, sizeof(p), (void *)(url + url_path_off));
		ev->path_len = p.len;
		read_go_string(ev->path, p.ptr, p.len);
	}
	read_go_string(ev->host, req_u64(rc, req_host_off), req_u64(rc, req_host_off + 8));
	read_go_string(ev->remote, req_u64(rc, req_remote_addr_off),
		       req_u64(rc, req_remote_addr_off + 8));
	ev->proto_major = req_u64(rc, req_proto_major_off);
	ev->proto_minor = req_u64(rc, req_proto_minor_off);
	ev->tls = req_u64(rc, req_tls_off) != 0;
	u64 header = req_u64(rc, req_header_off);
	u64 rctx_data = req_u64(rc, req_ctx_off + 8);

	read_headers(header, &f->hv);
	__builtin_memcpy(ev->user_agent, f->hv.user_agent, sizeof(ev->user_agent));

	ev->hdr.parent_remote =
		parse_traceparent(f->hv.traceparent, f->hv.traceparent_len, &ev->hdr.parent);

	// A server span is a root unless the caller sent its context; it is
	// the active span of the request's context and of this goroutine.
	span_start(f, NULL, rctx_data, goid);
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
	struct server_inflight *f = g_span_lookup(server, goid);
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
	g_span_end(server, goid, f, sizeof(*ev));
	return 0;
}
