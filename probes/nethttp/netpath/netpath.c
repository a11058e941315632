//go:build ignore

// Outgoing trace context propagation on the network path, for kernels
// that refuse bpf_probe_write_user (lockdown): a traceparent header line is
// added to the bytes of an outgoing plaintext HTTP/1.x request as the
// kernel sends them.
//
// Three programs share the work:
//   - netpath_request, a uprobe on net/http.(*Request).write (the
//     transport's writeLoop goroutine, one request at a time per
//     connection): when the request belongs to a client span and goes out
//     on a plain *net.TCPConn, it records that span under the
//     connection's address 4-tuple (pending). Nothing of the request has
//     been written yet, and everything of the previous request on that
//     connection has.
//   - netpath_sockops, on the target's cgroup: a connect() made by the
//     target's process marks the socket; when it is established, the
//     socket goes into np_socks, so netpath_msg runs on its writes.
//   - netpath_msg, sk_msg on np_socks: the first write after a pending
//     entry is the start of that request's head. It takes the entry and
//     edits the head (insert the header after the request line, or give a
//     forwarded traceparent of the same trace the client span as parent);
//     every other write passes untouched.
// The same rules are modelled in Go (netpath.Edit) and fuzzed there.
#include "sonde/span.h"
#include "sonde/traceparent.h"
#include "../header.h"
#include "../request.h"
#include "../tracestate.h"

// The target's process ID (as the root PID namespace sees it).
volatile const u32 target_tgid = 0;

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 req_header_off = 0;
volatile const u64 req_url_off = 0;
volatile const u64 bufio_writer_wr_off = 0;
volatile const u64 pconn_conn_off = 0;
volatile const u64 tcpconn_fd_off = 0;
volatile const u64 netfd_laddr_off = 0;
volatile const u64 netfd_raddr_off = 0;
volatile const u64 tcpaddr_ip_off = 0;
volatile const u64 tcpaddr_port_off = 0;
// Runtime itab addresses: *bufio.Writer and net/http.persistConnWriter as
// io.Writer, *net.TCPConn as net.Conn, *net.TCPAddr as net.Addr.
volatile const u64 itab_bufio_writer = 0;
volatile const u64 itab_pconn_writer = 0;
volatile const u64 itab_tcp_conn = 0;
volatile const u64 itab_tcp_addr = 0;

// Limits of the head scan; netpath.go has the same numbers.
#define REQLINE_MAX 2048 // a request line longer than this is left alone
#define HEAD_WINDOW 4096 // bytes of the first write looked at
#define TP_LINE_LEN 70   // "traceparent: " + 55 + "\r\n"
#define TS_PREFIX_LEN 12 // "tracestate: "

// What the request's own headers say about trace context.
enum np_app {
	NP_APP_NONE = 0,  // no traceparent: add ours
	NP_APP_OTHER = 1, // its own traceparent of another trace (or malformed): keep it
	NP_APP_SAME = 2,  // a traceparent of the client span's trace: reparent it
};

// Counters (np_counters), exported to Go by bpf2go.
enum np_counter {
	NP_REQUESTS = 0,      // requests whose first write was seen
	NP_INSERTED = 1,      // traceparent added
	NP_TRACESTATE = 2,    // tracestate added with it
	NP_KEPT_APP = 3,      // the app's traceparent of another trace kept
	NP_REPARENTED = 4,    // a forwarded traceparent got the client span as parent
	NP_SAME_NOT_SEEN = 5, // forwarded traceparent not in the first write: untouched
	NP_NO_REQLINE = 6,    // no complete request line in the first write's window: untouched
	NP_PULL_FAILED = 7,   // bytes could not be pulled before any change: untouched
	NP_PUSH_FAILED = 8,   // room could not be made: untouched
	NP_POPPED = 9,        // pull after push failed, the room was removed again: untouched
	NP_DROPPED = 10,      // pull and pop after push failed: the write was refused
	NP_NOT_TCP = 11,      // request on a TLS or other non-TCP connection: not propagated
	NP_NO_ADDR = 12,      // connection addresses unreadable: not propagated
	NP_SOCKETS = 13,      // target sockets put under the sk_msg program
	NP_PENDING_FULL = 14, // pending map full: not propagated
	NP_COUNTER_MAX = 16,
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, u64);
	__uint(max_entries, NP_COUNTER_MAX);
} np_counters SEC(".maps");

static __always_inline void np_count(u32 which)
{
	u64 *v = bpf_map_lookup_elem(&np_counters, &which);
	if (v)
		*v += 1;
}

// A TCP connection as both sides see it: IPv4 addresses in their
// IPv4-mapped IPv6 form, ports in host order.
struct np_conn {
	u8 local_ip[16];
	u8 remote_ip[16];
	u16 local_port;
	u16 remote_port;
};

// The request about to be written on a connection.
struct np_pending {
	struct span_context sc; // the client span
	u8 app;                 // enum np_app
	u8 app_tracestate;      // the request has its own tracestate
	u8 pad[6];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct np_conn);
	__type(value, struct np_pending);
	__uint(max_entries, 16384);
} np_pendings SEC(".maps");

// The target's sockets, by cookie; netpath_msg is attached to this map.
struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, u64);
	__type(value, u64);
	__uint(max_entries, 65535);
} np_socks SEC(".maps");

// Marks a socket the target connect()ed.
struct np_mark {
	u32 tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct np_mark);
} np_marks SEC(".maps");

// Scratch space for the request's headers (too big for the stack).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, struct header_values);
	__uint(max_entries, 1);
} np_headers SEC(".maps");

const enum np_counter *unused_np_counter __attribute__((unused));
const enum np_app *unused_np_app __attribute__((unused));
const struct np_pending *unused_np_pending __attribute__((unused));
const struct np_conn *unused_np_conn __attribute__((unused));

// read_addr reads the *net.TCPAddr in the net.Addr at addr into ip/port.
static __always_inline bool read_addr(u64 addr, u8 *ip, u16 *port)
{
	struct go_iface a = {};
	if (bpf_probe_read_user(&a, sizeof(a), (void *)addr) || a.tab != itab_tcp_addr || !a.data)
		return false;
	struct go_slice s = {};
	s64 p = 0;
	if (bpf_probe_read_user(&s, sizeof(s), (void *)(a.data + tcpaddr_ip_off)) ||
	    bpf_probe_read_user(&p, sizeof(p), (void *)(a.data + tcpaddr_port_off)))
		return false;
	if (s.len == 4) {
		ip[10] = 0xff;
		ip[11] = 0xff;
		return !bpf_probe_read_user(ip + 12, 4, (void *)s.ptr) && (*port = p, true);
	}
	if (s.len == 16)
		return !bpf_probe_read_user(ip, 16, (void *)s.ptr) && (*port = p, true);
	return false;
}

SEC("uprobe/Request_write")
int netpath_request(struct pt_regs *ctx)
{
	// (*Request).write(r *Request, w io.Writer, usingProxy bool, ...)
	u64 req = go_arg(ctx, 1);
	u64 url = read_u64(req + req_url_off);
	struct span_context *sc = request_span(req, url);
	if (!sc)
		return 0; // not a client span's request (e.g. the app's own r.Write)
	// The transport writes to pc.bw: a *bufio.Writer over a persistConnWriter.
	if (go_arg(ctx, 2) != itab_bufio_writer || !itab_bufio_writer) {
		np_count(NP_NOT_TCP);
		return 0;
	}
	struct go_iface wr = {}, conn = {};
	if (bpf_probe_read_user(&wr, sizeof(wr), (void *)(go_arg(ctx, 3) + bufio_writer_wr_off)) ||
	    wr.tab != itab_pconn_writer || !itab_pconn_writer ||
	    bpf_probe_read_user(&conn, sizeof(conn), (void *)(wr.data + pconn_conn_off)) ||
	    conn.tab != itab_tcp_conn || !itab_tcp_conn) {
		np_count(NP_NOT_TCP); // TLS (ciphertext on the wire) or a custom net.Conn
		return 0;
	}
	u64 fd = read_u64(conn.data + tcpconn_fd_off);
	struct np_conn k = {};
	if (!fd || !read_addr(fd + netfd_laddr_off, k.local_ip, &k.local_port) ||
	    !read_addr(fd + netfd_raddr_off, k.remote_ip, &k.remote_port)) {
		np_count(NP_NO_ADDR);
		return 0;
	}

	struct np_pending p = {};
	p.sc = *sc;
	u32 zero = 0;
	struct header_values *hv = bpf_map_lookup_elem(&np_headers, &zero);
	if (!hv)
		return 0;
	hv->traceparent_len = 0;
	hv->user_agent_len = 0;
	hv->ts.len = 0;
	hv->slots_seen = 0;
	read_headers(read_u64(req + req_header_off), hv);
	if (hv->traceparent_len > 0) {
		struct span_context app = {};
		u32 n = hv->traceparent_len;
		p.app = NP_APP_OTHER;
		if (parse_traceparent(hv->traceparent, n, &app) &&
		    __builtin_memcmp(app.trace_id, sc->trace_id, 16) == 0)
			p.app = NP_APP_SAME;
	}
	p.app_tracestate = hv->ts.len > 0;
	if (bpf_map_update_elem(&np_pendings, &k, &p, BPF_ANY))
		np_count(NP_PENDING_FULL);
	return 0;
}

// ip6_from_4 writes the IPv4-mapped form of the network-order ip4.
static __always_inline void ip6_from_4(u8 *out, u32 ip4)
{
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, &ip4, 4);
}

// host_port converts a remote_port context field (the network-order port,
// shifted into the high half on little-endian kernels since 5.x) to host order.
static __always_inline u16 host_port(u32 v)
{
	u32 x = __builtin_bswap32(v);
	return x > 0xffff ? x >> 16 : x;
}

// One 4-byte context load (clang would merge neighbours into 8-byte loads,
// which the context refuses).
#define CTX_U32(f) (*(volatile u32 *)&(f))

#define AF_INET 2
#define AF_INET6 10

SEC("sockops")
int netpath_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	if (!sk)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB: {
		// connect() runs in the calling process: only the target's.
		u32 tgid = bpf_get_current_pid_tgid() >> 32;
		if (tgid != target_tgid)
			return 1;
		struct np_mark *m = bpf_sk_storage_get(&np_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (m)
			m->tgid = tgid;
		return 1;
	}
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB: {
		// Runs in softirq: the mark says whose socket it is.
		struct np_mark *m = bpf_sk_storage_get(&np_marks, sk, 0, 0);
		if (!m || m->tgid != target_tgid)
			return 1;
		struct np_conn k = {};
		if (skops->family == AF_INET) {
			ip6_from_4(k.local_ip, skops->local_ip4);
			ip6_from_4(k.remote_ip, skops->remote_ip4);
		} else if (skops->family == AF_INET6) {
			u32 ip[4];
			ip[0] = CTX_U32(skops->local_ip6[0]);
			ip[1] = CTX_U32(skops->local_ip6[1]);
			ip[2] = CTX_U32(skops->local_ip6[2]);
			ip[3] = CTX_U32(skops->local_ip6[3]);
			__builtin_memcpy(k.local_ip, ip, 16);
			ip[0] = CTX_U32(skops->remote_ip6[0]);
			ip[1] = CTX_U32(skops->remote_ip6[1]);
			ip[2] = CTX_U32(skops->remote_ip6[2]);
			ip[3] = CTX_U32(skops->remote_ip6[3]);
			__builtin_memcpy(k.remote_ip, ip, 16);
		} else {
			return 1;
		}
		k.local_port = skops->local_port;
		k.remote_port = host_port(skops->remote_port);
		// A new connection: whatever an earlier one of the same
		// addresses left pending is not for it.
		bpf_map_delete_elem(&np_pendings, &k);
		u64 cookie = bpf_get_socket_cookie(skops);
		if (bpf_sock_hash_update(skops, &np_socks, &cookie, BPF_NOEXIST) == 0)
			np_count(NP_SOCKETS);
		return 1;
	}
	}
	return 1;
}

static const char np_hex[16] = "0123456789abcdef";

// lower folds an ASCII letter to lower case.
static __always_inline u8 lower(u8 c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

// Scan state, in a per-CPU map rather than on the stack: a bpf_loop step
// then reads values the verifier cannot know (kernels before 6.7 check a
// step once, with the state of its first call).
struct np_scan_state {
	u32 from;  // offset where the scan starts
	u32 found; // offset found + 1; 0 while not found
	u32 bol;   // the scan is at the start of a line
	u32 len;   // tracestate: bytes to copy
	u8 ts[TRACESTATE_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, u32);
	__type(value, struct np_scan_state);
	__uint(max_entries, 1);
} np_scan SEC(".maps");

struct np_loop {
	struct sk_msg_md *msg;
};

// pkt_barrier keeps a checked packet pointer in its register (clang would
// otherwise rebuild it from data + offset, a pointer the verifier has not
// seen checked).
#define pkt_barrier(p) asm volatile("" : "+r"(p))

#define WIN_MASK (HEAD_WINDOW * 2 - 1) // a bound the verifier sees on offsets

static __always_inline struct np_scan_state *scan_state(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&np_scan, &zero);
}

// eol_step: is byte i the '\n' that ends the request line?
static long eol_step(u64 i, void *c)
{
	struct sk_msg_md *msg = ((struct np_loop *)c)->msg;
	struct np_scan_state *st = scan_state();
	if (!st)
		return 1;
	u8 *p = (u8 *)(long)msg->data + (i & WIN_MASK);
	if ((void *)(p + 1) > (void *)(long)msg->data_end)
		return 1;
	if (p[0] == '\n') {
		st->found = i + 1;
		return 1;
	}
	return 0;
}

// tp_step looks at byte from+i of the head: at the start of a line, is it
// a "traceparent:" header? It records the offset of the value.
static long tp_step(u64 i, void *c)
{
	struct sk_msg_md *msg = ((struct np_loop *)c)->msg;
	struct np_scan_state *st = scan_state();
	if (!st)
		return 1;
	u64 off = (st->from + i) & WIN_MASK;
	u8 *p = (u8 *)(long)msg->data + off;
	void *end = (void *)(long)msg->data_end;
	if ((void *)(p + 1) > end)
		return 1;
	if (st->bol) {
		if (p[0] == '\r' || p[0] == '\n')
			return 1; // the empty line: end of the head
		st->bol = 0;
		if ((void *)(p + 13) <= end && lower(p[0]) == 't' && lower(p[1]) == 'r' &&
		    lower(p[2]) == 'a' && lower(p[3]) == 'c' && lower(p[4]) == 'e' &&
		    lower(p[5]) == 'p' && lower(p[6]) == 'a' && lower(p[7]) == 'r' &&
		    lower(p[8]) == 'e' && lower(p[9]) == 'n' && lower(p[10]) == 't' && p[11] == ':') {
			st->found = off + 12 + (p[12] == ' ') + 1;
			return 1;
		}
	}
	if (p[0] == '\n')
		st->bol = 1;
	return 0;
}

// ts_step copies byte i of the tracestate into the room at from.
static long ts_step(u64 i, void *c)
{
	struct sk_msg_md *msg = ((struct np_loop *)c)->msg;
	struct np_scan_state *st = scan_state();
	if (!st || i >= st->len)
		return 1;
	u8 *p = (u8 *)(long)msg->data + ((st->from + i) & WIN_MASK);
	if ((void *)(p + 1) > (void *)(long)msg->data_end)
		return 1;
	p[0] = st->ts[i & (TRACESTATE_MAX - 1)];
	st->found = i + 1;
	return 0;
}

// ts_check_step: is byte i of the tracestate printable ASCII (what a
// header value may hold)? It clears st->len when not.
static long ts_check_step(u64 i, void *c)
{
	struct np_scan_state *st = scan_state();
	if (!st || i >= st->len)
		return 1;
	u8 b = st->ts[i & (TRACESTATE_MAX - 1)];
	if (b < 0x20 || b > 0x7e) {
		st->len = 0;
		return 1;
	}
	return 0;
}

// put_hex writes n bytes of src as 2n lowercase hex digits at dst.
static __always_inline void put_hex(u8 *dst, const u8 *src, int n)
{
	for (int j = 0; j < n; j++) {
		dst[2 * j] = np_hex[src[j] >> 4];
		dst[2 * j + 1] = np_hex[src[j] & 0xf];
	}
}

// reparent gives the forwarded traceparent of the head the client span sc
// as parent, when it is of sc's trace. It returns whether it did.
static __always_inline bool reparent(struct sk_msg_md *msg, struct np_scan_state *st,
				     u32 from, const struct span_context *sc)
{
	struct np_loop lc = {.msg = msg};
	st->from = from;
	st->found = 0;
	st->bol = 1;
	bpf_loop(HEAD_WINDOW, tp_step, &lc, 0);
	if (!st->found)
		return false;
	u8 *t = (u8 *)(long)msg->data + ((st->found - 1) & WIN_MASK);
	if ((void *)(t + 56) > (void *)(long)msg->data_end)
		return false;
	pkt_barrier(t);
	if (t[0] != '0' || t[1] != '0' || t[2] != '-' || t[35] != '-' || t[52] != '-' ||
	    (t[55] != '\r' && t[55] != '\n'))
		return false;
	for (int j = 0; j < 16; j++) {
		if (t[3 + 2 * j] != np_hex[sc->trace_id[j] >> 4] ||
		    t[4 + 2 * j] != np_hex[sc->trace_id[j] & 0xf])
			return false;
	}
	put_hex(t + 36, sc->span_id, 8);
	t[53] = '0';
	t[54] = sampled(sc) ? '1' : '0';
	return true;
}

// np_abort removes the room pushed at [eol, eol+add) when it cannot be
// filled; when even that fails, the write is refused (the app sees an
// error) rather than sent with uninitialized bytes.
static __always_inline int np_abort(struct sk_msg_md *msg, u32 eol, u32 add)
{
	if (bpf_msg_pop_data(msg, eol, add, 0)) {
		np_count(NP_DROPPED);
		return SK_DROP;
	}
	np_count(NP_POPPED);
	return SK_PASS;
}

SEC("sk_msg")
int netpath_msg(struct sk_msg_md *msg)
{
	struct np_conn k = {};
	if (msg->family == AF_INET) {
		ip6_from_4(k.local_ip, msg->local_ip4);
		ip6_from_4(k.remote_ip, msg->remote_ip4);
	} else if (msg->family == AF_INET6) {
		u32 ip[4];
		ip[0] = CTX_U32(msg->local_ip6[0]);
		ip[1] = CTX_U32(msg->local_ip6[1]);
		ip[2] = CTX_U32(msg->local_ip6[2]);
		ip[3] = CTX_U32(msg->local_ip6[3]);
		__builtin_memcpy(k.local_ip, ip, 16);
		ip[0] = CTX_U32(msg->remote_ip6[0]);
		ip[1] = CTX_U32(msg->remote_ip6[1]);
		ip[2] = CTX_U32(msg->remote_ip6[2]);
		ip[3] = CTX_U32(msg->remote_ip6[3]);
		__builtin_memcpy(k.remote_ip, ip, 16);
	} else {
		return SK_PASS;
	}
	k.local_port = msg->local_port;
	k.remote_port = host_port(msg->remote_port);
	struct np_pending *pp = bpf_map_lookup_elem(&np_pendings, &k);
	if (!pp)
		return SK_PASS; // not the first write of a request
	struct np_pending p = *pp;
	bpf_map_delete_elem(&np_pendings, &k);
	np_count(NP_REQUESTS);
	if (p.app == NP_APP_OTHER) {
		np_count(NP_KEPT_APP);
		return SK_PASS;
	}
	struct np_scan_state *st = scan_state();
	if (!st)
		return SK_PASS;

	u32 size = msg->size;
	u32 win = size < HEAD_WINDOW ? size : HEAD_WINDOW;
	if (bpf_msg_pull_data(msg, 0, win, 0)) {
		np_count(NP_PULL_FAILED);
		return SK_PASS;
	}
	// The end of the request line.
	struct np_loop lc = {.msg = msg};
	st->found = 0;
	bpf_loop(REQLINE_MAX, eol_step, &lc, 0);
	u32 eol = st->found;
	if (eol < 10 || eol > REQLINE_MAX) {
		np_count(NP_NO_REQLINE);
		return SK_PASS;
	}
	if (p.app == NP_APP_SAME) {
		if (reparent(msg, st, eol, &p.sc))
			np_count(NP_REPARENTED);
		else
			np_count(NP_SAME_NOT_SEEN);
		return SK_PASS;
	}

	// The trace's incoming tracestate goes along, unless the request has
	// its own.
	u32 tslen = 0;
	if (!p.app_tracestate) {
		struct trace_key tk;
		__builtin_memcpy(tk.trace_id, p.sc.trace_id, 16);
		struct trace_state *ts = bpf_map_lookup_elem(&trace_states, &tk);
		if (ts && ts->len > 0 && ts->len <= TRACESTATE_MAX) {
			__builtin_memcpy(st->ts, ts->state, TRACESTATE_MAX);
			st->len = ts->len;
			bpf_loop(TRACESTATE_MAX, ts_check_step, 0, 0);
			tslen = st->len; // 0 when a byte does not belong in a header
		}
	}
	u32 add = TP_LINE_LEN + (tslen ? TS_PREFIX_LEN + tslen + 2 : 0);
	if (bpf_msg_push_data(msg, eol, add, 0)) {
		np_count(NP_PUSH_FAILED);
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, eol, eol + add, 0))
		return np_abort(msg, eol, add);
	u8 *l = (u8 *)(long)msg->data;
	void *end = (void *)(long)msg->data_end;
	// The pull covered exactly the room: the bounds below hold; the checks
	// are for the verifier, and a failed one never sends the room unfilled.
	if ((void *)(l + TP_LINE_LEN) > end)
		return np_abort(msg, eol, add);
	pkt_barrier(l);
	__builtin_memcpy(l, "traceparent: 00-", 16);
	put_hex(l + 16, p.sc.trace_id, 16);
	l[48] = '-';
	put_hex(l + 49, p.sc.span_id, 8);
	l[65] = '-';
	l[66] = '0';
	l[67] = sampled(&p.sc) ? '1' : '0';
	l[68] = '\r';
	l[69] = '\n';
	if (!tslen) {
		np_count(NP_INSERTED);
		return SK_PASS;
	}
	if ((void *)(l + TP_LINE_LEN + TS_PREFIX_LEN) > end)
		return np_abort(msg, eol, add);
	__builtin_memcpy(l + TP_LINE_LEN, "tracestate: ", TS_PREFIX_LEN);
	st->from = TP_LINE_LEN + TS_PREFIX_LEN;
	st->found = 0;
	bpf_loop(TRACESTATE_MAX, ts_step, &lc, 0);
	if (st->found != tslen)
		return np_abort(msg, eol, add);
	l = (u8 *)(long)msg->data + ((TP_LINE_LEN + TS_PREFIX_LEN + tslen) & WIN_MASK);
	end = (void *)(long)msg->data_end;
	if ((void *)(l + 2) > end)
		return np_abort(msg, eol, add);
	l[0] = '\r';
	l[1] = '\n';
	np_count(NP_INSERTED);
	np_count(NP_TRACESTATE);
	return SK_PASS;
}
