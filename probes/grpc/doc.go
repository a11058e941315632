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
// Outgoing propagation (traceparent in the outgoing metadata) is not
// done: a server in another process starts its own trace unless the app
// sends traceparent itself.
package grpc
