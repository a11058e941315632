// Results of a function at its return probe's site, wherever the loader
// put it: ret_arg(ctx, n) is the nth ABIInternal integer result.
//
// On amd64 a return program may run in the callers, at the first
// emulated instruction after a direct call (internal/binary
// ReturnPlacement). A caller may store a result register to its frame
// (MOVQ BX, 0x88(SP)) and overwrite the register before that instruction;
// the site's attach cookie then says where the result is: its byte n-1 is
// 0 while the nth result is in its register, else off/8+1 for the slot at
// SP+off (SP as at the site: the caller's). The loader sets ret_cookies
// where the kernel has bpf_get_attach_cookie (5.15+); without it every
// cookie is 0, the helper call is dead code that the verifier never
// visits, and the loader keeps results in their registers.
//
// Each result is read by a subprogram of its own, sonde_ret_argN: the
// loader's scan of a program (internal/probe/regread.go) does not follow
// them, and takes their presence for "reads result N where the cookie
// says". A program must read a result it wants from the caller's frame
// through ret_arg only: a go_arg read of the same register keeps the
// register.
#pragma once

#include "regs.h"

#if defined(__TARGET_ARCH_x86)

// Set by the loader where the kernel has bpf_get_attach_cookie and a site
// of this object has a result in a stack slot.
volatile const bool ret_cookies = false;

#define SONDE_RET_ARG(n)                                                      \
	static __noinline __attribute__((unused)) u64 sonde_ret_arg##n(      \
		struct pt_regs *ctx)                                          \
	{                                                                     \
		if (ret_cookies) {                                            \
			u8 slot = bpf_get_attach_cookie(ctx) >> (8 * ((n) - 1)); \
			if (slot) {                                           \
				u64 v = 0;                                    \
				bpf_probe_read_user(                          \
					&v, sizeof(v),                        \
					(void *)(ctx->sp + 8 * (u64)(slot - 1))); \
				return v;                                     \
			}                                                     \
		}                                                             \
		return go_arg(ctx, n);                                        \
	}

SONDE_RET_ARG(1)
SONDE_RET_ARG(2)
SONDE_RET_ARG(3)
SONDE_RET_ARG(4)
SONDE_RET_ARG(5)
SONDE_RET_ARG(6)
SONDE_RET_ARG(7)
SONDE_RET_ARG(8)

// ret_arg is go_arg for a result, read where the site's cookie says. The
// ninth (R11) has no byte in the cookie: always its register.
static __always_inline u64 ret_arg(struct pt_regs *ctx, int n)
{
	switch (n) {
	case 1: return sonde_ret_arg1(ctx);
	case 2: return sonde_ret_arg2(ctx);
	case 3: return sonde_ret_arg3(ctx);
	case 4: return sonde_ret_arg4(ctx);
	case 5: return sonde_ret_arg5(ctx);
	case 6: return sonde_ret_arg6(ctx);
	case 7: return sonde_ret_arg7(ctx);
	case 8: return sonde_ret_arg8(ctx);
	}
	return go_arg(ctx, n);
}

#else

// arm64 return programs run at the function's rets (simulated): results
// are in their registers.
static __always_inline u64 ret_arg(struct pt_regs *ctx, int n)
{
	return go_arg(ctx, n);
}

#endif
