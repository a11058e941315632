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

// limitMemory sets agentMemoryLimit unless the user set GOMEMLIMIT.
func limitMemory() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(agentMemoryLimit)
	}
}

// releaseMemory returns to the operating system what binary analysis
// used, once the probes are attached.
func releaseMemory() { debug.FreeOSMemory() }
