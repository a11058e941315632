//go:build ignore

// The variant of kafka.c for kernels that allow bpf_probe_write_user: it
// also gives produced messages a traceparent header (inject.h). A
// separate object, so that a kernel in lockdown still loads kafka.c.
#define KAFKA_INJECT 1
#include "kafka.c"
