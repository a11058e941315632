// Register access for Go's internal register ABI (ABIInternal, Go 1.17+).
//
// amd64: integer arguments and results in RAX, RBX, RCX, RDI, RSI, R8, R9,
// R10, R11; the current goroutine (g) in R14.
// arm64: integer arguments and results in R0..R15; g in R28.
// The pt_regs layouts below are the kernel's user-visible ones
// (arch/x86/include/uapi/asm/ptrace.h, arch/arm64/include/uapi/asm/ptrace.h).
#pragma once

#include "types.h"

#if defined(__TARGET_ARCH_x86)

struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8, ax, cx, dx,
		si, di, orig_ax, ip, cs, flags, sp, ss;
};

static __always_inline u64 go_arg(struct pt_regs *ctx, int n)
{
	switch (n) {
	case 1: return ctx->ax;
	case 2: return ctx->bx;
	case 3: return ctx->cx;
	case 4: return ctx->di;
	case 5: return ctx->si;
	case 6: return ctx->r8;
	case 7: return ctx->r9;
	case 8: return ctx->r10;
	case 9: return ctx->r11;
	}
	return 0;
}

#define GO_G(ctx) ((void *)(ctx)->r14)
// At a function's return instruction: where its stack-assigned results
// begin (after the return address; results too large for the registers
// are there, ABIInternal).
#define GO_STACK_RESULTS(ctx) ((ctx)->sp + 8)

#elif defined(__TARGET_ARCH_arm64)

struct pt_regs {
	u64 regs[31];
	u64 sp;
	u64 pc;
	u64 pstate;
};

static __always_inline u64 go_arg(struct pt_regs *ctx, int n)
{
	if (n >= 1 && n <= 16)
		return ctx->regs[n - 1];
	return 0;
}

#define GO_G(ctx) ((void *)(ctx)->regs[28])
#define GO_STACK_RESULTS(ctx) ((ctx)->sp + 8)

#else
#error "set __TARGET_ARCH_x86 or __TARGET_ARCH_arm64"
#endif
