// Package stepbench measures what each step of Sonde's BPF programs costs
// on the machine it runs on: a helper call, a user-memory read of a given
// size, a map update of each kind Sonde uses, a ring-buffer output with
// and without a wakeup. Each step is one BPF program attached in turn to a
// hot function of the test binary; the kernel's run-time stats divide its
// total run time by its runs. Run it as root:
//
//	go test -run '^$' -bench . ./internal/bpf/stepbench
//
// Each benchmark reports bpf-ns/run (the program's own time) and, as
// ns/op, the whole call with the uprobe trap.
package stepbench
