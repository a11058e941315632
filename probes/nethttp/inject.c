//go:build ignore

// Outgoing trace context propagation for the net/http client, by writing a
// traceparent header line into the transport's write buffer with
// bpf_probe_write_user. Loaded only where the kernel allows that helper.
//
// (*Request).write runs on the connection's writeLoop goroutine: its entry
// remembers the request on that goroutine. The first Header.writeSubset on
// the same goroutine is the one for the request's own headers: its entry
// appends "Traceparent: 00-<trace>-<span>-<flags>\r\n" to the *bufio.Writer
// the headers are written to, just before them.
#include "sonde/inflight.h"
#include "sonde/traceparent.h"
#include "header.h"
#include "request.h"
#include "tracestate.h"

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 req_header_off = 0;
volatile const u64 req_url_off = 0;
volatile const u64 bufio_writer_buf_off = 0;
volatile const u64 bufio_writer_n_off = 0;
// Runtime address of the io.Writer itab of *bufio.Writer.
volatile const u64 itab_bufio_writer = 0;

#define TRACEPARENT_LINE_LEN 70 // "Traceparent: " + 55 + "\r\n"

struct inject_inflight {
	struct inflight_call call; // a: req, b: req.URL
	struct header_values hv;
};

INFLIGHT_MAPS(inject, struct inject_inflight, 0);

struct inject_line {
	u8 b[TRACEPARENT_LINE_LEN];
};

// format_line writes the whole header line for sc into l.
static __always_inline void format_line(struct inject_line *l,
					const struct span_context *sc)
{
	__builtin_memcpy(l->b, "Traceparent: ", 13);
	format_traceparent(l->b + 13, sc); // carries the decision taken
	__builtin_memcpy(l->b + 13 + TRACEPARENT_LEN, "\r\n", 2);
}

SEC("uprobe/Request_write")
int inject_request(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*Request).write(r *Request, w io.Writer, usingProxy bool, ...)
	u64 req = go_arg(ctx, 1);
	u64 url = read_u64(req + req_url_off);
	if (!request_span(req, url)) {
		// Not a request of a client span (e.g. the app's own r.Write).
		bpf_map_delete_elem(&inject_inflight, &goid);
		return 0;
	}
	struct inject_inflight *f =
		inflight_begin(&inject_inflight, &inject_zero, goid, req, url);
	if (!f)
		return 0;
	read_headers(read_u64(req + req_header_off), &f->hv);
	if (f->hv.traceparent_len > 0) {
		// The app propagates itself: never send a second traceparent.
		bpf_map_delete_elem(&inject_inflight, &goid);
		return 0;
	}
	return 0;
}

SEC("uprobe/Header_writeSubset")
int inject_headers(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	struct inject_inflight *f = bpf_map_lookup_elem(&inject_inflight, &goid);
	if (!f)
		return 0;
	u64 req = f->call.a, url = f->call.b;
	// Only the first writeSubset after (*Request).write: the request's
	// own headers. Later ones (extra headers, trailers) are left alone.
	bpf_map_delete_elem(&inject_inflight, &goid);

	// Header.writeSubset(h Header, w io.Writer, ...): w is (tab, data).
	if (go_arg(ctx, 2) != itab_bufio_writer || !itab_bufio_writer)
		return 0;
	u64 bw = go_arg(ctx, 3);
	struct span_context *sc = request_span(req, url);
	if (!sc || !bw)
		return 0;
	struct go_slice buf = {};
	s64 n = 0;
	if (bpf_probe_read_user(&buf, sizeof(buf), (void *)(bw + bufio_writer_buf_off)) ||
	    bpf_probe_read_user(&n, sizeof(n), (void *)(bw + bufio_writer_n_off)))
		return 0;
	if (!buf.ptr || n < 0 || n + TRACEPARENT_LINE_LEN > buf.len)
		return 0; // no room: the request goes out without the header
	struct inject_line l;
	format_line(&l, sc);
	if (bpf_probe_write_user((void *)(buf.ptr + n), l.b, TRACEPARENT_LINE_LEN))
		return 0;
	n += TRACEPARENT_LINE_LEN;
	// The trace's incoming tracestate goes along, where it fits.
	struct trace_key k;
	__builtin_memcpy(k.trace_id, sc->trace_id, 16);
	struct trace_state *ts = bpf_map_lookup_elem(&trace_states, &k);
	if (ts && ts->len > 0 && ts->len <= TRACESTATE_MAX &&
	    n + 12 + ts->len + 2 <= buf.len) {
		// 1..512 in a form every verifier sees (6.1 needs a size > 0).
		u32 len = ((ts->len - 1) & (TRACESTATE_MAX - 1)) + 1;
		if (!bpf_probe_write_user((void *)(buf.ptr + n), "Tracestate: ", 12) &&
		    !bpf_probe_write_user((void *)(buf.ptr + n + 12), ts->state, len) &&
		    !bpf_probe_write_user((void *)(buf.ptr + n + 12 + len), "\r\n", 2))
			n += 12 + len + 2;
	}
	bpf_probe_write_user((void *)(bw + bufio_writer_n_off), &n, sizeof(n));
	return 0;
}
