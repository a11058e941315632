package auto

import (
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// EnvVar describes one environment variable Sonde reads.
type EnvVar struct {
	Name string
	// Default is the value used when the variable is unset, as it would be
	// written in the environment, or a description in angle brackets
	// ("<none>"); "" when there is none.
	Default string
	// Option is the InstrumentationOption that overrides the variable,
	// e.g. "WithPID(pid)".
	Option string
	// Doc is one line of documentation.
	Doc string
	// WithEnv is set for the variables read only when WithEnv is given;
	// the others are read by every Instrumentation.
	WithEnv bool
}

// Environment lists every variable Sonde reads: its own, the exporter's
// and the sampler's, then the probe settings. `sonde help` prints it, and
// README.md's configuration table is checked against it.
func Environment() []EnvVar {
	vars := []EnvVar{
		{envTargetExe, "", "WithTarget(path)", "path of the executable to instrument; Sonde waits for a process running it", true},
		{envTargetPID, "", "WithPID(pid)", "PID of the process to instrument; wins over " + envTargetExe, true},
		{envServiceName, "unknown_service:<executable>", "WithServiceName(name)", "service.name; when unset: service.name in " + envResource + ", else the target's own " + envServiceName + ", else the default", true},
		{envResource, "", "WithResourceAttributes(attrs...)", "extra resource attributes, key=value,...", true},
		{envShutdownTimeout, defaultShutdownTimeout.String(), "WithShutdownTimeout(d)", "how long stopping waits for the exporter to take the last spans (10s, or milliseconds); what is left is reported as not sent", true},
		{envProbeSites, "emulated", "-", "classic puts entry probes on each function's first byte and return probes on its ret instructions, as before emulated sites (instructions the kernel runs without a single step: about 0.5 µs a hit instead of 10)", true},
		{envRequire, "", "WithRequire(features...)", "comma-separated features that must work, else start fails: spans, other-user, target-env, user-write, bpf-write, memlock, net-path (sonde check lists them); unset, a missing one is logged and switched off", true},
		{envLogLevel, "info", "WithLogger(logger)", "debug, info, warn or error, for the default logger (stderr)", false},
		{envTracesExporter, defaultTracesExporter, "WithTraceExporter(exp)", "otlp, console or none", false},
		{envOTLPProtocol, defaultOTLPProtocol, "WithTraceExporter(exp)", "http/protobuf or grpc", false},
		{envOTLPTracesProtocol, "", "WithTraceExporter(exp)", "the same for traces only; wins over " + envOTLPProtocol, false},
		{envOTLPEndpoint, defaultOTLPHTTPEndpoint, "WithTraceExporter(exp)", "collector base URL (/v1/traces is added for http/protobuf); http:// is plaintext, https:// TLS; the grpc default is " + defaultOTLPGRPCEndpoint, false},
		{envOTLPTracesEndpoint, "", "WithTraceExporter(exp)", "collector URL for traces, used as is; wins over " + envOTLPEndpoint, false},
		{envOTLPInsecure, "", "WithTraceExporter(exp)", "true: plaintext, false: TLS, to an endpoint given without a scheme (grpc)", false},
		{envOTLPTracesInsecure, "", "WithTraceExporter(exp)", "the same for traces only", false},
		{envOTLPCertificate, "", "WithTraceExporter(exp)", "CA certificate file (PEM) to verify the collector's TLS certificate", false},
		{envOTLPTracesCertificate, "", "WithTraceExporter(exp)", "the same for traces only", false},
		{envOTLPHeaders, "", "WithTraceExporter(exp)", "headers sent with every export, key=value,...", false},
		{envOTLPOther, "", "WithTraceExporter(exp)", "the other OTLP exporter variables (TIMEOUT, COMPRESSION, CLIENT_CERTIFICATE, ...), read by the OpenTelemetry Go exporter", false},
		{envConsoleOutput, defaultConsoleOutput, "WithTraceExporter(exp)", "where the console exporter writes its JSON spans: stderr, stdout or a file path (appended to)", false},
		{envSampler, "parentbased_always_on", "WithSampler(s)", "always_on, always_off, traceidratio or their parentbased_ forms", false},
		{envSamplerArg, "1.0", "WithSampler(s)", "the ratio of traceidratio samplers", false},
		{envQueueSize, "8192", "WithQueueSize(n)", "spans that may wait for the exporter or be in export; beyond it spans are dropped, counted and reported", false},
		{envMetricsExporter, "otlp", "WithMetricReader(r)", "Sonde's own health metrics (sonde.*, otel.sdk.*): otlp (to the OTLP endpoint, plaintext http://localhost:4318 by default), console, prometheus or none; unset: otlp when spans go over OTLP, else none", false},
		{envOTLPMetricsEndpoint, "", "WithMetricReader(r)", "collector URL for metrics, used as is; wins over " + envOTLPEndpoint, false},
		{envOTLPMetricsProtocol, "", "WithMetricReader(r)", "the protocol for metrics only; wins over " + envOTLPProtocol, false},
		{envOTLPMetricsInsecure, "", "WithMetricReader(r)", "the same as " + envOTLPInsecure + " for metrics only", false},
		{envOTLPMetricsCertificate, "", "WithMetricReader(r)", "the same as " + envOTLPCertificate + " for metrics only", false},
	}
	decls, _ := probe.DeclaredSettings(probes.All()) // checked by the tests
	for _, d := range decls {
		vars = append(vars, EnvVar{Name: d.Env, Default: d.Default, Option: `WithSetting("` + d.Env + `", value)`, Doc: d.Doc, WithEnv: true})
	}
	return vars
}

// Variables the OTLP exporters read that Sonde documents but does not
// read itself.
const (
	envOTLPHeaders = "OTEL_EXPORTER_OTLP_HEADERS"
	envOTLPOther   = "OTEL_EXPORTER_OTLP_*"
)
