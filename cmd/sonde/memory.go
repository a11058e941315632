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
// limit still bounds the heap. While attaching GOGC stays at 100.
const agentGCPercent = 200

// limitMemory sets agentMemoryLimit unless the user set GOMEMLIMIT.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agentMemoryLimit)
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
