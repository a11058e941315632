//go:build ignore

// net/http client spans: (*Transport).roundTrip, entry and every return.
#include "sonde/inflight.h"
#include "request.h"

EVENT_KIND(http_client);

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 req_method_off = 0;
volatile const u64 req_url_off = 0;
volatile const u64 req_ctx_off = 0;
volatile const u64 url_scheme_off = 0;
volatile const u64 url_host_off = 0;
volatile const u64 url_path_off = 0;
volatile const u64 url_raw_query_off = 0;
volatile const u64 resp_status_code_off = 0;
volatile const u64 resp_proto_major_off = 0;
volatile const u64 resp_proto_minor_off = 0;

struct http_client_event {
	struct event_header hdr;
	u64 status;
	u64 err_tab;  // itab of the returned error; 0 when nil
	u64 err_data; // its data word
	u32 path_len;
	u32 query_len;
	u8 proto_major;
	u8 proto_minor;
	u8 pad[6];
	u8 method[16];
	u8 scheme[16];
	u8 host[128];
	u8 path[256];
	u8 query[256];
};

struct client_inflight {
	struct span_head head; // call.a: req
	struct http_client_event ev;
	u64 url;
};

G_SPAN_INFLIGHT(client, struct client_inflight, 0);

const struct http_client_event *unused_http_client_event __attribute__((unused));

SEC("uprobe/Transport_roundTrip")
int client_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*Transport).roundTrip(t *Transport, req *Request)
	u64 req = go_arg(ctx, 2);
	struct client_inflight *f = g_span_begin(client, goid, req, 0, event_kind_http_client);
	if (!f)
		return 0;
	struct http_client_event *ev = &f->ev;

	read_go_string_at(ev->method, req + req_method_off);
	u64 url = read_u64(req + req_url_off);
	if (url) {
		struct go_string p = {};
		read_go_string_at(ev->scheme, url + url_scheme_off);
		read_go_string_at(ev->host, url + url_host_off);
		bpf_probe_read_user(&p, sizeof(p), (void *)(url + url_path_off));
		ev->path_len = p.len;
		read_go_string(ev->path, p.ptr, p.len);
		bpf_probe_read_user(&p, sizeof(p), (void *)(url + url_raw_query_off));
		ev->query_len = p.len;
		read_go_string(ev->query, p.ptr, p.len);
	}

	struct go_iface rctx = {};
	bpf_probe_read_user(&rctx, sizeof(rctx), (void *)(req + req_ctx_off));
	// Not registered under req's context: that context belongs to the
	// caller (often the server span's), and the transport's own work
	// happens on other goroutines.
	span_start(f, &rctx, 0, goid);
	// For the propagation probe, which runs on the transport's writeLoop.
	f->url = url;
	request_span_set(req, url, &ev->hdr.sc);
	return 0;
}

SEC("uprobe/Transport_roundTrip_return")
int client_return(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	struct client_inflight *f = g_span_lookup(client, goid);
	if (!f)
		return 0;
	struct http_client_event *ev = &f->ev;
	// Results: (*Response, error) in the first three result registers.
	u64 resp = go_arg(ctx, 1);
	ev->err_tab = go_arg(ctx, 2);
	ev->err_data = go_arg(ctx, 3);
	if (resp && !ev->err_tab) {
		ev->status = read_u64(resp + resp_status_code_off);
		ev->proto_major = read_u64(resp + resp_proto_major_off);
		ev->proto_minor = read_u64(resp + resp_proto_minor_off);
	}
	request_span_clear(f->head.call.a, f->url, &ev->hdr.sc);
	g_span_end(client, goid, f, sizeof(*ev));
	return 0;
}
