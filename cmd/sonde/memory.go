package main

import (
	"os"
	"runtime/debug"
)

// agentMemoryLimit is the Go runtime's soft memory limit for the agent
// when GOMEMLIMIT is not set: reading a large binary's DWARF allocates
// well over 100 MiB in short-lived entries, and the collector, left at
// GOGC=100, lets the heap double before it runs. With the limit it runs
// sooner, so that the peak stays close to what is live.
const agentMemoryLimit = 32 << 20

// agentGCPercent is GOGC for the agent once attached, when the user did
// not set it: the live heap is then a few MiB (spans in flight, the
// exporter's buffers), and at GOGC=100 the collector runs every few MiB
// allocated. Measured on the todo bench (agent CPU per span, peak RSS):
// 100: 9.3 us, 47.7 MiB; 200: 7.3 us, 47.6 MiB; 400: 5.7 us, 52.0 MiB
// (the heap under load then outgrows what attaching peaked at). The memory
// limit still bounds the heap. While attaching GOGC is attachGCPercent.
const agentGCPercent = 200

// attachGCPercent is GOGC while attaching, when the user did not set it:
// binary analysis allocates in bursts over a live heap of 5-10 MiB for a
// net/http + SQLite target, which GOGC=100 lets double before the collector
// runs. Measured on examples/todo (no load, exporter none, peak RSS and
// attach time): 100: 42.8 MiB, 422 ms; 50: 38.4 MiB, 497 ms; 25: 36.1 MiB,
// 366 ms; stripped Caddy v2.11.9: 36.7, 35.8, 35.2 MiB at 1.0-1.1 s each.
// A large unstripped binary's DWARF outgrows agentMemoryLimit, which then
// paces the collector instead.
const attachGCPercent = 25

// limitMemory sets agentMemoryLimit unless the user set GOMEMLIMIT, and
// attachGCPercent unless the user set GOGC.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agentMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(attachGCPercent)
	}
}

// releaseMemory returns to the operating system what binary analysis
// used, once the probes are attached, and sets agentGCPercent unless the
// user set GOGC.
func releaseMemory() {
	debug.FreeOSMemory()
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(agentGCPercent)
	}
}
