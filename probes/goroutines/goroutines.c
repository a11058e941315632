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

// runtime.g.goid and parentGoid as one read: the window from the lower of
// the two offsets that holds both (set by the loader; 0: read apart).
volatile const u64 g_ids_base = 0;
volatile const u64 g_ids_window = 0;
#define G_IDS_MAX 256

// read_ids reads the new g's goid and its creator's.
static __always_inline void read_ids(u64 newg, u64 *goid, u64 *creator)
{
	u8 b[G_IDS_MAX];
	u64 n = g_ids_window;
	if (n >= 16 && n <= G_IDS_MAX && bpf_probe_read_user(b, n, (void *)(newg + g_ids_base)) == 0) {
		*goid = *(u64 *)(b + ((g_goid_off - g_ids_base) & (G_IDS_MAX - 8)));
		*creator = *(u64 *)(b + ((g_parent_goid_off - g_ids_base) & (G_IDS_MAX - 8)));
		return;
	}
	*goid = read_u64(newg + g_goid_off);
	*creator = read_u64(newg + g_parent_goid_off);
}

// inherit records the span goroutine newg inherits from its creator.
static __always_inline int inherit(u64 newg)
{
	if (!newg)
		return 0;
	u64 goid = 0, creator = 0;
	read_ids(newg, &goid, &creator);
	if (!goid || !creator)
		return 0;
	struct inherited_span *slot = goroutine_slot(goid);
	if (!slot)
		return 0;
	struct inherited_span in = {.root = creator, .goid = goid};
	struct span_context *sc = active_span(creator);
	if (sc) {
		in.sc = *sc;
	} else {
		// A goroutine of a goroutine: the span its creator inherited,
		// still tied to the goroutine that runs it.
		struct inherited_span *up = goroutine_slot(creator);
		if (!up || up->goid != creator || !inherited_span(creator, &in.sc))
			return 0;
		in.root = up->root;
	}
	// The slot's older goroutine (goid - k * GOROUTINE_SLOTS) loses it:
	// marked first, so that a concurrent reader of it sees a mismatch
	// rather than half of the new entry.
	slot->goid = 0;
	slot->sc = in.sc;
	slot->root = in.root;
	slot->goid = goid;
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
