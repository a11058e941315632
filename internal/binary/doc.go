// Package binary reads what Sonde needs from a Go executable.
//
// # Probe sites
//
// A uprobe on an instruction the kernel emulates costs one trap (about
// 0.5 µs a hit on the development VM, Linux 6.18); on any other it is
// single-stepped out of line, a second trap (about 10 µs there). sites.go
// chooses emulated instructions where the result is provably the same as
// on the function's first byte and its ret instructions.
//
// What the kernels Sonde supports (6.1, 6.12, 6.18) emulate, read from
// their sources:
//
//	amd64 (arch/x86/kernel/uprobes.c)        6.1  6.12  6.18
//	  jmp rel8/rel32, call rel32, jcc         yes  yes   yes  branch_setup_xol_ops (no 0x66 prefix)
//	  nop 0x90 (and 66 90)                    yes  yes   yes  branch_setup_xol_ops
//	  push reg (50-57, 41 50-57)              yes  yes   yes  push_setup_xol_ops (since 4.15)
//	  multi-byte nops (0f 1f /0, x86_nops)    no   no    yes  from 6.16, 2025 (Emulation.NOPL)
//	  ret, pop, mov, add, cmp, test, ...      no   no    no   single-stepped
//	arm64 (arch/arm64/kernel/probes/decode-insn.c, uprobes.c)
//	  b, bl, b.cond, cbz/cbnz, tbz/tbnz       yes  yes   yes  simulated
//	  br, blr, ret                            yes  yes   yes  simulated
//	  adr, adrp                               yes  yes   yes  simulated
//	  nop                                     no   -     -    simulated in kernels since 2024 (not used)
//	  ldr/ldrsw literal                       no   no    no   kprobes only: a uprobe there is refused
//	  stp, str, ldr, sub, cmp, ...            no   no    no   single-stepped (no stp fp/lr simulation)
//
// Entry sites (EntryPlacement), the argument registers as at the first
// byte in every case:
//
//	amd64  PUSHQ BP after the stack check (Go 1.21+ frames): emulated, once
//	       per call (the morestack path jumps back to the first byte, before
//	       the push); the check writes only R12 and flags.
//	       Without a push (Go before 1.21, frameless functions with a check):
//	       the check's JBE, emulated but run again after morestack (the
//	       in-flight guard of inflight.h drops the second hit). Otherwise
//	       the first byte.
//	arm64  the check's B.LS (after MOVD 16(g), R16 [, SUB $n, RSP, R17]; CMP):
//	       simulated, run again after morestack; R16 and R17 carry no
//	       argument. Otherwise the first byte.
//
// Return sites (ReturnPlacement):
//
//	amd64  for a function whose address is nowhere in data (itab, func
//	       value, jump table, dynamic symbol, method table entry that keeps
//	       its type) nor taken in code, that nothing jumps to (tail call)
//	       and whose callers' return addresses are no branch targets: at
//	       each direct call's return address, moved on through inert
//	       instructions (TEST, CMP, nops, stores into the caller's frame)
//	       to the first emulated one; one with no emulated instruction in
//	       reach stays on the return address (single-stepped, as ret is).
//	       A return program that reads no register but g (R14) is also
//	       moved past calls through a register and any instruction that
//	       neither branches nor touches R14 (net/http's server return:
//	       past w.cancelCtx() to the next direct call in (*conn).serve).
//	       One whose registers are known (ReturnOptions.RegsKnown, from
//	       the loader's scan of its BPF code) is moved past instructions
//	       that write only registers it does not read (spill.go: moves,
//	       LEA, arithmetic with an explicit destination; nothing with an
//	       implicit register, no call, no change of SP); a result it reads
//	       through ret_arg (sonde/retarg.h) may be overwritten once the
//	       caller has stored it whole to an SP-relative slot (MOVQ reg,
//	       off(SP)), which the site then names (Site.Spilled, passed as the
//	       attach cookie) while no later store overlaps it; a store through
//	       any other base ends the walk (database/sql's query_ret after
//	       the QueryContext inlined in QueryRowContext: the error read
//	       from the Row on the caller's frame, at the call to Scan).
//	       A method table entry that keeps its type counts as taken unless
//	       the probe says that the receiver reaches no interface but
//	       through reflection (probe.Hook.MethodTable: serverHandler up to
//	       Go 1.26; Go 1.27 has its itab in data, which keeps the rets).
//	       Otherwise, when no call site is emulated, or when the return
//	       program reads the stack pointer (stack results: SP is 8 more at
//	       the caller), every ret.
//	arm64  every ret: simulated on every supported kernel.
//
// Store sites (StorePlacement, amd64): a program that needs what a
// function has computed rather than its return runs at the first emulated
// instruction after the function's only 8-byte store to a field, reached
// in a straight line with the struct's register intact, which the program
// reads (probe.StoreHook). The goroutine probe uses it in
// runtime.newproc1 after `newg.goid = ...`: a call, a conditional branch
// or a nop there on Go 1.21 to 1.27, one emulated hit per goroutine
// instead of a single-stepped ret. Elsewhere its ret is kept.
package binary
