//go:build ignore

// kafka-go producer and consumer spans: one PRODUCER span per message of a
// (*Writer).WriteMessages call, whatever the batch size, emitted by its
// return (two probe hits per call); one CONSUMER span per message returned
// by (*Reader).FetchMessage (ReadMessage calls it), continuing the trace of
// the message's traceparent header (two hits per message).
#include "sonde/inflight.h"
#include "sonde/traceparent.h"

EVENT_KIND(kafka_send);
EVENT_KIND(kafka_receive);

#define TOPIC_MAX 128
#define KEY_MAX 128
#define GROUP_MAX 128
#define HEADERS_MAX 16   // headers looked at for traceparent
#define BATCH_MAX 100000 // messages of one call given a span

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 msg_size = 0;        // sizeof(kafka.Message)
volatile const u64 msg_topic_off = 0;   // Message.Topic
volatile const u64 msg_part_off = 0;    // Message.Partition
volatile const u64 msg_offset_off = 0;  // Message.Offset
volatile const u64 msg_key_off = 0;     // Message.Key
volatile const u64 msg_headers_off = 0; // Message.Headers
volatile const u64 hdr_size = 0;        // sizeof(kafka.Header)
volatile const u64 hdr_key_off = 0;     // Header.Key
volatile const u64 hdr_value_off = 0;   // Header.Value
volatile const u64 writer_topic_off = 0;  // Writer.Topic
volatile const u64 reader_group_off = 0;  // Reader.config.GroupID

struct kafka_event {
	struct event_header hdr;
	u64 err_tab;    // itab of the call's error; 0 when nil
	u64 err_data;   // its data word
	s64 partition;  // receive only
	s64 offset;     // receive only
	u32 batch;      // messages in the call
	u32 key_len;    // length in the target
	u8 own_context; // the message carried its own traceparent (send)
	u8 pad[7];
	u8 topic[TOPIC_MAX];
	u8 key[KEY_MAX];
	u8 group[GROUP_MAX];
};

struct send_inflight {
	struct span_head head; // call.a: writer, call.b: msgs
	struct kafka_event ev; // what the messages' spans share
	u64 msgs;
	u64 n;
};

SPAN_INFLIGHT(send, struct send_inflight, BPF_F_NO_PREALLOC);

struct receive_inflight {
	struct span_head head; // call.a: reader
	struct kafka_event ev;
};

SPAN_INFLIGHT(receive, struct receive_inflight, BPF_F_NO_PREALLOC);

const struct kafka_event *unused_kafka_event __attribute__((unused));

// find_traceparent looks for a traceparent header among the message's
// (key string, value []byte) headers and parses it into sc.
static __always_inline bool find_traceparent(u64 msg, struct span_context *sc)
{
	struct go_slice hs = {};
	if (bpf_probe_read_user(&hs, sizeof(hs), (void *)(msg + msg_headers_off)) || !hs.ptr)
		return false;
	for (int i = 0; i < HEADERS_MAX; i++) {
		if (i >= hs.len)
			break;
		u64 h = hs.ptr + i * hdr_size;
		struct go_string k = {};
		u8 name[12] = {};
		if (bpf_probe_read_user(&k, sizeof(k), (void *)(h + hdr_key_off)) || k.len != 11 ||
		    bpf_probe_read_user(name, 11, (void *)k.ptr))
			continue;
		if (__builtin_memcmp(name, "traceparent", 11) != 0)
			continue;
		struct go_slice v = {};
		u8 val[64] = {};
		if (bpf_probe_read_user(&v, sizeof(v), (void *)(h + hdr_value_off)))
			return false;
		u32 n = read_go_string(val, v.ptr, v.len);
		return parse_traceparent(val, n, sc);
	}
	return false;
}

#include "inject.h"

SEC("uprobe/Writer_WriteMessages")
int send_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*Writer).WriteMessages(w *Writer, ctx context.Context, msgs ...Message)
	u64 w = go_arg(ctx, 1);
	struct go_iface cctx = {.tab = go_arg(ctx, 2), .data = go_arg(ctx, 3)};
	u64 msgs = go_arg(ctx, 4);
	s64 n = go_arg(ctx, 5);
	if (n <= 0)
		return 0;
	struct send_inflight *f = span_begin(&send_inflight, &send_zero, goid, w, msgs,
					     event_kind_kafka_send);
	if (!f)
		return 0;
	f->msgs = msgs;
	f->n = n > BATCH_MAX ? BATCH_MAX : n;
	f->ev.batch = n > 0xffffffff ? 0xffffffff : n;
	read_go_string_at(f->ev.topic, w + writer_topic_off);
	if (find_parent(cctx, goid, &f->ev.hdr.parent))
		f->ev.hdr.parent_remote = 2; // marks "has a parent" until emit
#ifdef KAFKA_INJECT
	inject_batch(f);
#endif
	return 0;
}

// One message's span of a finished WriteMessages call.
struct send_loop {
	struct send_inflight *f;
};

static long send_message(u32 i, void *arg)
{
	struct send_inflight *f = ((struct send_loop *)arg)->f;
	if (i >= f->n)
		return 1;
	u64 msg = f->msgs + (u64)i * msg_size;
	bool has_parent = f->ev.hdr.parent_remote == 2;
	struct span_context sc = {};
#ifdef KAFKA_INJECT
	// A message given a traceparent at the entry: its span is the one
	// that header names, and the app's message is as it was again.
	if (!injected_span(msg, &sc))
		new_span(&sc, has_parent ? &f->ev.hdr.parent : NULL);
#else
	new_span(&sc, has_parent ? &f->ev.hdr.parent : NULL);
#endif
	if (!sampled(&sc))
		return 0;
	struct kafka_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);
	if (!ev) {
		count(COUNTER_RINGBUF_FULL);
		return 0;
	}
	__builtin_memcpy(ev, &f->ev, sizeof(*ev));
	ev->hdr.sc = sc;
	ev->hdr.parent_remote = 0;
	if (!has_parent)
		__builtin_memset(&ev->hdr.parent, 0, sizeof(ev->hdr.parent));
	struct go_string t = {};
	if (!bpf_probe_read_user(&t, sizeof(t), (void *)(msg + msg_topic_off)) && t.len > 0)
		read_go_string(ev->topic, t.ptr, t.len);
	struct go_slice k = {};
	if (!bpf_probe_read_user(&k, sizeof(k), (void *)(msg + msg_key_off))) {
		ev->key_len = k.len;
		read_go_string(ev->key, k.ptr, k.len);
	}
	struct span_context own = {};
	ev->own_context = find_traceparent(msg, &own);
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("uprobe/Writer_WriteMessages_return")
int send_return(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	struct send_inflight *f = span_lookup(&send_inflight, goid);
	if (!f)
		return 0;
	f->ev.err_tab = go_arg(ctx, 1); // error: (tab, data)
	f->ev.err_data = go_arg(ctx, 2);
	struct send_loop l = {.f = f};
	bpf_loop(BATCH_MAX, send_message, &l, 0);
	bpf_map_delete_elem(&send_inflight, &goid);
	return 0;
}

SEC("uprobe/Reader_FetchMessage")
int receive_entry(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	// (*Reader).FetchMessage(r *Reader, ctx context.Context) (Message, error)
	u64 r = go_arg(ctx, 1);
	struct receive_inflight *f = span_begin(&receive_inflight, &receive_zero, goid, r, 0,
						event_kind_kafka_receive);
	if (f)
		read_go_string_at(f->ev.group, r + reader_group_off);
	return 0;
}

SEC("uprobe/Reader_FetchMessage_return")
int receive_return(struct pt_regs *ctx)
{
	u64 goid = goroutine_id(ctx);
	struct receive_inflight *f = span_lookup(&receive_inflight, goid);
	if (!f)
		return 0;
	struct kafka_event *ev = &f->ev;
	ev->err_tab = go_arg(ctx, 1);
	ev->err_data = go_arg(ctx, 2);
	// The Message result does not fit the registers: it is on the stack.
	u64 msg = GO_STACK_RESULTS(ctx);
	struct go_string t = {};
	if (!ev->err_tab && !bpf_probe_read_user(&t, sizeof(t), (void *)(msg + msg_topic_off)) &&
	    t.len > 0) {
		read_go_string(ev->topic, t.ptr, t.len);
		ev->partition = read_u64(msg + msg_part_off);
		ev->offset = read_u64(msg + msg_offset_off);
		struct go_slice k = {};
		if (!bpf_probe_read_user(&k, sizeof(k), (void *)(msg + msg_key_off))) {
			ev->key_len = k.len;
			read_go_string(ev->key, k.ptr, k.len);
		}
		ev->hdr.parent_remote = find_traceparent(msg, &ev->hdr.parent);
		if (!ev->hdr.parent_remote)
			__builtin_memset(&ev->hdr.parent, 0, sizeof(ev->hdr.parent));
		new_span(&ev->hdr.sc, ev->hdr.parent_remote ? &ev->hdr.parent : NULL);
		emit(ev, sizeof(*ev));
	}
	// A fetch that returned no message (cancelled, closed) is no span.
	bpf_map_delete_elem(&receive_inflight, &goid);
	return 0;
}
