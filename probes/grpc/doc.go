// Package grpc instruments google.golang.org/grpc (v1.60 to v1.85
// checked): a SERVER span for every RPC a grpc.Server handles and a CLIENT
// span for every RPC a ClientConn makes, unary and streaming, named after
// the full method ("pkg.Service/Method"), with the attributes of the RPC
// semantic conventions (semconv v1.43.0: rpc.system.name, rpc.method,
// rpc.response.status_code, server.address/port on the client,
// network.peer.address/port on the server).
//
// Hooks (two probe hits per RPC and side, none per message):
//
//   - server: (*Server).handleStream entry starts the span, under the
//     stream's context and on the handler's goroutine, continuing the
//     caller's trace when the incoming metadata carries traceparent (and
//     tracestate); the transport's status write ends it
//     ((*http2Server).WriteStatus up to v1.68, writeStatus from v1.69), or
//     (*http2Server).closeStream when the stream is reset first (client
//     cancel: CANCELLED; the server's deadline timer: DEADLINE_EXCEEDED).
//   - client: (*clientStream).newAttemptLocked entry starts the span (its
//     parent found from the stream's context, then the goroutine; a retry
//     is ignored), (*clientStream).finish entry ends it with the final
//     status. A stream also runs finish a second time, a no-op, from the
//     goroutine that watches its context.
//
// Outgoing propagation (Inject, inject.c), where the kernel allows
// bpf_probe_write_user: one more hit per client RPC, on the loopy
// writer's handling of the stream's headers ((*loopyWriter).
// clientHeaderHandler from v1.83, originateStream before). The header
// fields, a Go heap array with no spare slot for a plain RPC, are copied
// with all their bytes into a block of an arena Sonde maps into the
// target (process.MapArena, through ptrace), a traceparent field naming
// the client span is added, and the headers point at the copy; the Go
// collector never sees a pointer from the arena into its heap. An RPC
// whose metadata already has a traceparent keeps it; one whose headers do
// not fit a 4 KiB block (more than 31 fields, a name or value over 1 KiB)
// goes out without (counted in the grpc_inject map). Under lockdown the
// client probe says once that gRPC propagation is off, and the server
// starts its own trace unless the app sends traceparent itself.
//
// Probe hits measured in the 6.12 VM with propagation on, 200 unary RPCs:
// client 3 per RPC (newAttemptLocked, finish, the header hook), server 2
// (one morestack re-entry of handleStream in 200); a bidi stream of 200
// messages each way: none per message. Checked in the VMs with
// v1.85 only (the older versions' hook is originateStream; their
// versions test runs on the host, where propagation is off).
package grpc
