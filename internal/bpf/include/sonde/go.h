// Go runtime value layouts and helpers to read them from a target process.
#pragma once

#include "regs.h"

// Layouts of Go's string, slice and interface headers (the same on every
// 64-bit Go version).
struct go_string {
	u64 ptr;
	s64 len;
};

struct go_slice {
	u64 ptr;
	s64 len;
	s64 cap;
};

struct go_iface {
	u64 tab;
	u64 data;
};

// GOMAP_BUF_BYTES is the size of a map walk's copy of one group or
// bucket (gomap.h) of a map with those key and elem sizes.
#define GOMAP_BUF_BYTES(key_size, elem_size) (8 + 8 * ((key_size) + (elem_size)) + 8)

// Offset of runtime.g.goid, set by the loader from the target's DWARF.
volatile const u64 g_goid_off = 0;

// goroutine_id returns the ID of the goroutine running ctx's thread, or 0.
static __always_inline u64 goroutine_id(struct pt_regs *ctx)
{
	u64 goid = 0;
	void *g = GO_G(ctx);
	if (!g)
		return 0;
	bpf_probe_read_user(&goid, sizeof(goid), g + g_goid_off);
	return goid;
}

// read_go_string copies at most size-1 bytes of the Go string (ptr, len)
// into buf (size must be a power of two) and NUL-terminates it. It returns
// the number of bytes copied.
#define read_go_string(buf, ptr, len)                                          \
	({                                                                     \
		u64 __n = (len) < 0 ? 0 : (u64)(len);                          \
		if (__n > sizeof(buf) - 1)                                     \
			__n = sizeof(buf) - 1;                                 \
		__n &= sizeof(buf) - 1;                                        \
		if (__n > 0 &&                                                 \
		    bpf_probe_read_user((buf), __n, (void *)(ptr)) != 0)       \
			__n = 0;                                               \
		(buf)[__n & (sizeof(buf) - 1)] = 0;                            \
		(u32) __n;                                                     \
	})

// read_go_string_at reads the string header at addr and then its bytes.
#define read_go_string_at(buf, addr)                                           \
	({                                                                     \
		struct go_string __s = {};                                     \
		u32 __r = 0;                                                   \
		if (bpf_probe_read_user(&__s, sizeof(__s), (void *)(addr)) == 0) \
			__r = read_go_string(buf, __s.ptr, __s.len);           \
		else                                                           \
			(buf)[0] = 0;                                          \
		__r;                                                           \
	})

static __always_inline u64 read_u64(u64 addr)
{
	u64 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (void *)addr);
	return v;
}
