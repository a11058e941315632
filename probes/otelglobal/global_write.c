//go:build ignore

// The variant of global.c for kernels that allow bpf_probe_write_user: it
// also writes each span's IDs into the app, so that span.SpanContext() is
// valid there. A separate object, so that a kernel in lockdown still loads
// global.c.
#define SONDE_WRITE_IDS 1
#include "global.c"
