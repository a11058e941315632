// Package selftest holds the kernel matrix's own test: uprobes attach (perf
// event and uprobe_multi) and bpf_probe_write_user writes into the process,
// checked in each VM kernel and, where allowed, on this machine.
package selftest
