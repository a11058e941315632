//go:build ignore

// Compiled only so that bpf2go exports the shared types to Go, and so that
// the shared variables every probe may include are in one spec (the probe
// contract test checks that the loader's shared variables exist here).
#include "sonde/inflight.h"
#include "sonde/traceparent.h"

#define GOMAP_KEY_SIZE 8
#define GOMAP_ELEM_SIZE 8
struct gomap_any {
	u8 gomap_buf[GOMAP_BUF_BYTES(8, 8)];
};
#define GOMAP_OUT struct gomap_any
#define GOMAP_VISIT(kc, ec, out) ((void)(kc), (void)(ec))
#include "sonde/gomap.h"

const struct event_header *unused_event_header __attribute__((unused));
const enum sonde_counter *unused_sonde_counter __attribute__((unused));

SEC("uprobe/unused")
int unused(void *ctx)
{
	return 0;
}
