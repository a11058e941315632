// Package sdk joins an app's own OpenTelemetry spans and attributes with the
// spans the Sonde agent makes with eBPF, with no SDK or exporter in the app.
//
// Two calls, both cheap no-ops while no agent is attached:
//
//   - [SpanFromContext] returns the span to annotate for a context: the
//     manual span it holds, or else, with an agent attached, the innermost
//     eBPF span (the HTTP server span of a request, the database span of a
//     query, ...). Attributes, events, errors, status and name set on it end
//     up on the exported eBPF span.
//   - [TracerProvider] returns a trace.TracerProvider whose spans the agent
//     exports, as children of the eBPF span they start in, and as parents of
//     the eBPF spans started in their context. Apps on any otel version
//     (v1.24 or newer) can install it; apps on otel v1.33 or newer that use
//     the global API (otel.Tracer) need not: the agent serves that path too.
//
// # How the agent and the sdk meet
//
// The sdk holds a small attach state, which the agent finds by a 16-byte
// marker in the binary's data (so stripped binaries work) and switches on
// once, from user space, when it attaches. Until then every call returns
// after one atomic load. Once attached, each change is encoded and passed to
// an empty function the agent traces with a uprobe: one probe hit per
// SetAttributes (or AddEvent, RecordError, SetStatus, SetName) call, two per
// span of TracerProvider (start and end). Nothing is written into the process
// by the kernel for any of this, so it works on kernels under lockdown.
//
// # IDs under lockdown
//
// Spans of TracerProvider get their IDs in the app: span.SpanContext() is
// valid, and its span ID is the exported one. Its trace ID is the one of the
// app-side parent in the context (a span of this sdk, a context extracted
// from an incoming request, a span of another SDK), else a fresh one. The
// trace ID the app sees differs from the exported one in exactly one case:
// the span has no app-side parent, it starts inside an eBPF span (say the
// server span of the request), and the kernel refuses bpf_probe_write_user
// (lockdown). The agent then exports it, and its descendants, under the eBPF
// span's trace ID, which the app cannot see; where the kernel allows the
// write, the agent writes that trace ID into the span before Start returns,
// and the app sees the exported IDs. Propagating such a span's context by
// hand (injecting it into an outgoing request) carries the app's trace ID.
//
// The handle SpanFromContext returns for an eBPF span has an invalid
// SpanContext, under lockdown or not: the app cannot know eBPF span IDs.
//
// Spans of TracerProvider are sampled unless their app-side parent is not.
// Each exported span is at most 64 KiB encoded: beyond that, attributes,
// events and links are dropped from the end of each list and counted in the
// span's dropped counts.
package sdk
