//go:build ignore

// Goroutine fan-out: a goroutine started while its creator runs a span
// inherits that span (goroutine_parents, sonde/span.h), so the ctx-less
// calls it makes nest under it, the way a handler's errgroup or WaitGroup
// workers belong to its request. One probe hit per goroutine created, in
// runtime.newproc1 once it has set the new g's goid (amd64, where the
// code allows) or at its return; both read runtime.g.parentGoid (Go 1.21+).
#include "sonde/span.h"

// Offset of runtime.g.parentGoid, set by the loader from DWARF.
volatile const u64 g_parent_goid_off = 0;

// ABIInternal argument number of the register that holds the new g at
// the newproc_goid site (set by the loader from the disassembly).
volatile const u64 newg_arg = 1;

// arg_reg reads the ABIInternal argument register n, n a load-time
// constant: through a copy on the stack, since clang turns a switch over
// the context's fields into arithmetic on the context pointer, which the
// verifier refuses.
static __always_inline u64 arg_reg(struct pt_regs *ctx, u64 n)
{
	u64 r[16] = {};
#pragma unroll
	for (int i = 1; i <= 9; i++)
		r[i] = go_arg(ctx, i);
	return r[n & 15];
}

// inherit records the span goroutine newg inherits from its creator.
static __always_inline int inherit(u64 newg)
{
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

// At newproc1's returns: newproc1(...) *g, the new goroutine, not yet
// running.
SEC("uprobe/newproc1_return")
int newproc_return(struct pt_regs *ctx)
{
	return inherit(go_arg(ctx, 1));
}

// Inside newproc1, right after it stored the new goroutine's ID (one
// emulated instruction: no return probe to single-step).
SEC("uprobe/newproc1_goid")
int newproc_goid(struct pt_regs *ctx)
{
	return inherit(arg_reg(ctx, newg_arg));
}
