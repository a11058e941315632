// Package netpath carries outgoing trace context on the network path: its
// BPF programs (a uprobe on net/http's request writer, sock_ops on the
// target's cgroup and sk_msg on the target's sockets) add a traceparent
// header to plaintext HTTP/1.x requests as the kernel sends them, where
// kernel lockdown refuses bpf_probe_write_user. It also holds the Go
// model of the head edit (Edit), fuzzed against the same rules.
package netpath
