//go:build ignore

// The variant of sdk.c for kernels that allow bpf_probe_write_user: it
// also tells the app the trace ID its TracerProvider span is exported in
// (that of its eBPF parent). A separate object, so that a kernel in
// lockdown still loads sdk.c.
#define SONDE_WRITE_IDS 1
#include "sdk.c"
