//go:build ignore

// Goroutine fan-out: a goroutine started while its creator runs a span
// inherits that span (goroutine_parents, sonde/span.h), so the ctx-less
// calls it makes nest under it, the way a handler's errgroup or WaitGroup
// workers belong to its request. One probe hit per goroutine created: the
// return of runtime.newproc1, which reads runtime.g.parentGoid (Go 1.21+).
#include "sonde/span.h"

// Offset of runtime.g.parentGoid, set by the loader from DWARF.
volatile const u64 g_parent_goid_off = 0;

SEC("uprobe/newproc1_return")
int newproc_return(struct pt_regs *ctx)
{
	// newproc1(...) *g: the new goroutine, not yet running.
	u64 newg = go_arg(ctx, 1);
	if (!newg)
		return 0;
	u64 goid = read_u64(newg + g_goid_off);
	u64 creator = read_u64(newg + g_parent_goid_off);
	if (!goid || !creator)
		return 0;
	struct inherited_span in = {.root = creator};
	struct span_context *sc = bpf_map_lookup_elem(&spans_by_goroutine, &creator);
	if (sc) {
		in.sc = *sc;
	} else {
		// A goroutine of a goroutine: the span its creator inherited,
		// still tied to the goroutine that runs it.
		struct inherited_span *up = bpf_map_lookup_elem(&goroutine_parents, &creator);
		if (!up || !inherited_span(creator, &in.sc))
			return 0;
		in.root = up->root;
	}
	bpf_map_update_elem(&goroutine_parents, &goid, &in, BPF_ANY);
	return 0;
}
