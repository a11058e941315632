//go:build ignore

// Compiled only so that bpf2go exports the shared event header to Go.
#include "sonde/event.h"

const struct event_header *unused_event_header __attribute__((unused));

SEC("uprobe/unused")
int unused(void *ctx)
{
	return 0;
}
