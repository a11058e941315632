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
// # Environment
//
// With WithEnv, Sonde reads:
//
//   - OTEL_GO_AUTO_TARGET_EXE: path of the executable to instrument; Sonde
//     waits for a process running it.
//   - OTEL_GO_AUTO_TARGET_PID: PID of the process to instrument.
//   - OTEL_SERVICE_NAME: service.name (default: the target's own
//     OTEL_SERVICE_NAME, else unknown_service:<executable name>).
//   - OTEL_RESOURCE_ATTRIBUTES: extra resource attributes.
//   - OTEL_GO_AUTO_INCLUDE_DB_STATEMENT: true adds db.query.text.
//   - OTEL_GO_AUTO_DB_STATEMENT_RAW: true keeps literals in db.query.text.
//   - OTEL_GO_AUTO_PARSE_DB_STATEMENT: true names database spans
//     "{operation} {table}".
//   - OTEL_GO_AUTO_GLOBAL: true switches on the OpenTelemetry global
//     tracer's auto-instrumentation path in the target.
//
// Always read:
//
//   - OTEL_LOG_LEVEL: debug, info (default), warn or error, for the default
//     logger.
//   - OTEL_TRACES_EXPORTER (otlp, console, none), OTEL_EXPORTER_OTLP_ENDPOINT,
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL
//     (http/protobuf, grpc), OTEL_EXPORTER_OTLP_HEADERS and the other
//     OTEL_EXPORTER_OTLP_* variables: the exporter, unless WithTraceExporter
//     is given (go.opentelemetry.io/contrib/exporters/autoexport).
package auto
