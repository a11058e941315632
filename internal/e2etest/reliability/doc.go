// Package reliability holds Sonde's reliability tests: the collector down
// or slow, the target or the agent killed, the ring buffer full, many
// requests in flight, repeated attach and detach. They are end to end
// (root) and short by default; SONDE_TEST_FULL=1 (make test-soak) runs
// them at full length.
package reliability
