// Package gslottest checks the slot tables of sonde/gslot.h (the
// direct-mapped arrays, backed by hash maps, that keep per-goroutine and
// per-context state in the probes) on the running kernel: a test program
// runs each operation through BPF_PROG_TEST_RUN on a four-slot table, so
// that the tests can make keys collide at will. Run as root.
package gslottest
