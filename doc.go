// Package auto gives a running Go program distributed tracing with no code
// change: eBPF uprobes watch the target binary, turn library calls into
// OpenTelemetry spans with correct parent/child links, and export them over
// OTLP through the OpenTelemetry Go SDK exporters.
//
// Use:
//
//	inst, err := auto.NewInstrumentation(ctx, auto.WithPID(pid), auto.WithEnv())
//	if err != nil { ... }
//	defer inst.Close()
//	if err := inst.Load(ctx); err != nil { ... }
//	err = inst.Run(ctx) // until ctx is done or the target exits
//
// Loading needs CAP_BPF and CAP_PERFMON on kernels with uprobe_multi links
// (6.6+), else CAP_SYS_ADMIN. Nothing is written into the target's memory
// from BPF, so everything here works on kernels in lockdown mode.
//
// The package sets no process-wide OpenTelemetry state (global tracer
// provider, propagator or error handler): export errors go to the
// Instrumentation's logger, each distinct error once, and every failed
// span is counted in Stats.
//
// # Configuration
//
// An Instrumentation is configured in this order: defaults, then the
// environment (only when WithEnv is among the options, wherever it is in
// the list), then the other options in the order given, then validation.
// An option therefore always overrides the variable it names. An invalid
// value in the environment is reported in the log and the default kept; an
// invalid option makes NewInstrumentation fail.
//
// # Probe settings
//
// Each probe (one package under probes/ per instrumented library) declares
// the settings it reads: an environment variable, its default and a line
// of documentation. Sonde collects the declarations of every probe,
// resolves each setting (default, then the variable with WithEnv, then
// WithSetting(name, value), whose name is the variable's) and hands the
// values to the probes when they load; this package names no library (the
// probe contract is described in internal/probe).
// `sonde help` lists the same settings. They are:
//
//   - OTEL_GO_AUTO_INCLUDE_DB_STATEMENT (default true): db.query.text on
//     database spans, literals replaced by ? (the keywords TRUE, FALSE and
//     NULL and placeholders such as $1 are kept); false records no
//     statement. The semantic conventions allow a sanitized statement by
//     default.
//   - OTEL_GO_AUTO_DB_STATEMENT_RAW (default false): true keeps the
//     literals in db.query.text (they can hold personal data).
//   - OTEL_GO_AUTO_PARSE_DB_STATEMENT (default true): database spans are
//     named "{operation} {table}" ("SELECT todos") with db.operation.name
//     and db.collection.name; false names them by db.system.name.
//   - OTEL_GO_AUTO_GLOBAL (default false): true switches on the
//     OpenTelemetry global API's auto-instrumentation path in the target
//     and exports its manual spans (see Manual spans below), by writing one
//     byte into the target from user space. Unset, that flag is never
//     written.
//   - OTEL_GO_AUTO_PROPAGATION (default auto): how outgoing net/http
//     requests carry the client span's traceparent (and the trace's
//     tracestate): uprobe writes it into the request buffer with
//     bpf_probe_write_user (refused under kernel lockdown); network adds it
//     to the bytes as the kernel sends them (sock_ops on the target's
//     cgroup, sk_msg on its sockets: plaintext HTTP/1.x on connections
//     opened after attach, never HTTPS or HTTP/2; needs CAP_NET_ADMIN,
//     CAP_BPF and CAP_PERFMON); auto picks uprobe where the kernel allows
//     it, else network; off sends nothing. WithPropagation overrides it.
//   - OTEL_PROPAGATORS (default tracecontext,baggage): the standard list;
//     none, or a list without tracecontext, turns outgoing propagation off.
//
// # Manual spans and custom attributes
//
// Apps that use the OpenTelemetry API with no SDK installed
// (otel.Tracer(name).Start, otel v1.33 or newer) get their manual spans
// exported with OTEL_GO_AUTO_GLOBAL=true: each is a child of the eBPF span
// of its context or goroutine, and the eBPF spans started from its context
// or on its goroutine are its children. Every field the app set is kept
// (attributes of every type, events such as RecordError's, links, status,
// scope); a span larger than about 64 KiB serialized keeps its head and its
// status and times, is marked sonde.span.truncated=true and counted in
// Stats.Truncated. An app that installs its own TracerProvider is left
// alone. Under kernel lockdown the app cannot see its manual span's IDs
// (span.SpanContext() is invalid) while the exported span has them; where
// bpf_probe_write_user is allowed, Sonde writes them into the app too.
//
// The companion module github.com/sonde-go/auto/sdk goes further, on any
// otel version: sdk.SpanFromContext(ctx).SetAttributes(...) (and AddEvent,
// RecordError, SetStatus, SetName) changes the eBPF span of ctx or of the
// calling goroutine, with one probe hit a call and no write from BPF; its
// TracerProvider makes spans whose IDs the app chooses, so
// span.SpanContext() is valid even under lockdown (the trace ID the app
// sees is the exported one except when the parent is an eBPF span and the
// kernel is in lockdown). Without Sonde attached every sdk call is a no-op
// of a few nanoseconds; at attach Sonde tells the sdk, by writing its
// attached flag from user space (linking the sdk asks for that write; it
// is the only one besides OTEL_GO_AUTO_GLOBAL's).
//
// # Environment
//
// With WithEnv, Sonde reads the probe settings above and:
//
//   - OTEL_GO_AUTO_TARGET_EXE: path of the executable to instrument; Sonde
//     waits for a process running it.
//   - OTEL_GO_AUTO_TARGET_PID: PID of the process to instrument; it wins
//     over OTEL_GO_AUTO_TARGET_EXE when both are set.
//   - OTEL_SERVICE_NAME: service.name (default: service.name in
//     OTEL_RESOURCE_ATTRIBUTES, else the target's own OTEL_SERVICE_NAME,
//     else unknown_service:<executable name>).
//   - OTEL_RESOURCE_ATTRIBUTES: extra resource attributes.
//   - OTEL_GO_AUTO_SHUTDOWN_TIMEOUT (default 5s, or milliseconds): how long
//     Close waits for the exporter to take the spans still queued
//     (WithShutdownTimeout); those it has not taken are counted as dropped
//     and Close's error, matching ErrShutdownTimeout, says how many.
//   - OTEL_GO_AUTO_PROBE_SITES (default emulated): where uprobes attach.
//     emulated puts each entry probe on the push %rbp after the stack
//     check (arm64: its b.ls) and, for a function called only directly,
//     each return probe on the caller side of its calls, on instructions
//     the kernel runs itself (about 0.5 µs a hit here, against 10 µs for a
//     single-stepped one); `sonde check` says which kind each probe uses
//     and why. classic keeps the first byte and the ret instructions.
//   - OTEL_GO_AUTO_REQUIRE: comma-separated features (spans, other-user,
//     target-env, user-write, bpf-write, memlock, net-path) that must work
//     (WithRequire): Load fails when missing capabilities or the kernel
//     switch one off. Unset, each missing feature is logged once, naming
//     the capability, and switched off; `sonde check` lists them.
//
// Always read:
//
//   - OTEL_LOG_LEVEL: debug, info (default), warn or error, for the default
//     logger.
//   - OTEL_TRACES_EXPORTER (otlp, console, none), OTEL_EXPORTER_OTLP_ENDPOINT,
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL
//     (http/protobuf, grpc), OTEL_EXPORTER_OTLP_HEADERS and the other
//     OTEL_EXPORTER_OTLP_* variables: the exporter, unless WithTraceExporter
//     is given (the OpenTelemetry Go exporters; other exporter names go to
//     go.opentelemetry.io/contrib/exporters/autoexport). With no endpoint,
//     OTEL_EXPORTER_OTLP_INSECURE or OTEL_EXPORTER_OTLP_CERTIFICATE variable
//     set, spans go to the specification's default in plaintext:
//     http://localhost:4318 (http://localhost:4317 for grpc).
//   - OTEL_GO_AUTO_CONSOLE_OUTPUT (default stderr): where the console
//     exporter writes its JSON spans: stderr, stdout, or a file path,
//     appended to. Standard error keeps them apart from the output of a
//     program started with `sonde run`.
//   - OTEL_BSP_MAX_QUEUE_SIZE (default 8192): how many spans may wait for
//     the exporter or be in export (WithQueueSize). This bounds the agent's
//     memory while the collector is down or slow: beyond it spans are
//     dropped, counted in Stats.Dropped and reported in the log.
//   - OTEL_METRICS_EXPORTER (default otlp): where Sonde's own metrics go
//     (see Metrics; WithMetricReader overrides it): otlp, console,
//     prometheus or none (off), through
//     go.opentelemetry.io/contrib/exporters/autoexport and the
//     OTEL_EXPORTER_OTLP_* and OTEL_METRIC_EXPORT_INTERVAL variables; with
//     no endpoint variable set, plaintext to http://localhost:4318 as for
//     traces. Unset, the metrics follow the spans: otlp when they go over
//     OTLP, none when they go to the console, nowhere or an exporter given
//     with WithTraceExporter.
//   - GOMEMLIMIT and GOGC (the sonde command): the Go runtime's own. Unset,
//     sonde runs with a 32 MiB soft memory limit, with GOGC=25 while it
//     reads the binary and attaches, and with GOGC=200 once its probes are
//     attached.
//
// # Metrics
//
// Sonde reports its own health as OpenTelemetry metrics, with the spans'
// resource, observed from Stats at each collection and once more at
// Close:
//
//   - otel.sdk.exporter.span.exported {span}: spans the exporter took;
//     error.type=export_failed for those in failed exports.
//   - otel.sdk.processor.span.processed {span}: spans handed to the
//     exporter; error.type=queue_full for those dropped.
//   - otel.sdk.processor.span.queue.size and
//     otel.sdk.processor.span.queue.capacity {span}: the export queue now
//     and its bound.
//   - sonde.events.read {event}: ring buffer records read.
//   - sonde.spans.dropped {span}: what was lost, by error.type:
//     queue_full, export_failed, ringbuf_full (events BPF could not emit),
//     decode_error, annotation_lost.
//   - sonde.bpf.overflows {event}: BPF-side overflows by sonde.bpf.counter,
//     the names of Stats.Overflows ("events dropped: ring buffer full" and
//     the correlation maps').
//   - sonde.bpf.inflight {entry}: entries of the BPF in-flight maps by
//     sonde.bpf.map; all return to 0 when no span is in progress.
//   - sonde.probes.attached {probe}: 1 per attached probe by
//     sonde.probe.name, 0 once detached.
//
// [Environment] lists every variable with its default and the option that
// overrides it; `sonde help` prints it.
package auto
