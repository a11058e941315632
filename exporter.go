package auto

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The exporter's variables that Sonde reads itself (always, with or
// without WithEnv); the OTLP exporters read the others.
const (
	envTracesExporter        = "OTEL_TRACES_EXPORTER"
	envOTLPProtocol          = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envOTLPTracesProtocol    = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envOTLPEndpoint          = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envOTLPTracesEndpoint    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envOTLPInsecure          = "OTEL_EXPORTER_OTLP_INSECURE"
	envOTLPTracesInsecure    = "OTEL_EXPORTER_OTLP_TRACES_INSECURE"
	envOTLPCertificate       = "OTEL_EXPORTER_OTLP_CERTIFICATE"
	envOTLPTracesCertificate = "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE"
	envConsoleOutput         = "OTEL_GO_AUTO_CONSOLE_OUTPUT"
)

// Exporter defaults: the OpenTelemetry specification's (plaintext to a
// local collector), and the console exporter's output.
const (
	defaultTracesExporter   = "otlp"
	defaultOTLPProtocol     = "http/protobuf"
	defaultOTLPHTTPEndpoint = "http://localhost:4318"
	defaultOTLPGRPCEndpoint = "http://localhost:4317"
	defaultConsoleOutput    = "stderr"
	otlpTracesPath          = "/v1/traces" // added to an OTLP/HTTP base URL
)

// newSpanExporter returns the exporter OTEL_TRACES_EXPORTER names. Sonde
// builds the otlp and console ones itself; any other name goes to
// autoexport.
//
// otlp: with no endpoint, security or CA variable set, the OTLP exporters
// of the Go SDK would use TLS to localhost; the specification's default
// is plaintext (http://localhost:4318, or :4317 for grpc), which Sonde
// sets. Any of those variables set leaves the choice to them.
//
// console: the JSON spans go to OTEL_GO_AUTO_CONSOLE_OUTPUT, stderr by
// default, so that under `sonde run` they do not mix with the program's
// standard output.
func newSpanExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	name := strings.TrimSpace(os.Getenv(envTracesExporter))
	switch name {
	case "", defaultTracesExporter:
		return newOTLPExporter(ctx)
	case "console":
		return newConsoleExporter(os.Getenv(envConsoleOutput))
	}
	return autoexport.NewSpanExporter(ctx)
}

// endpointSet reports whether the user chose the OTLP endpoint or its
// transport security.
func endpointSet() bool {
	for _, v := range []string{envOTLPEndpoint, envOTLPTracesEndpoint, envOTLPInsecure, envOTLPTracesInsecure, envOTLPCertificate, envOTLPTracesCertificate} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

func otlpProtocol() string {
	if p := strings.TrimSpace(os.Getenv(envOTLPTracesProtocol)); p != "" {
		return p
	}
	if p := strings.TrimSpace(os.Getenv(envOTLPProtocol)); p != "" {
		return p
	}
	return defaultOTLPProtocol
}

// errOTLPProtocol reports an OTLP protocol Sonde cannot export with.
var errOTLPProtocol = errors.New("unsupported OTLP protocol (want http/protobuf or grpc)")

func newOTLPExporter(ctx context.Context) (sdktrace.SpanExporter, error) {
	switch p := otlpProtocol(); p {
	case "grpc":
		var opts []otlptracegrpc.Option
		if !endpointSet() {
			opts = append(opts, otlptracegrpc.WithEndpointURL(defaultOTLPGRPCEndpoint))
		}
		return otlptracegrpc.New(ctx, opts...)
	case "http/protobuf":
		var opts []otlptracehttp.Option
		if !endpointSet() {
			// A URL option is used as is, like a traces endpoint.
			opts = append(opts, otlptracehttp.WithEndpointURL(defaultOTLPHTTPEndpoint+otlpTracesPath))
		}
		return otlptracehttp.New(ctx, opts...)
	default:
		return nil, fmt.Errorf("%s=%q: %w", envOTLPProtocol, p, errOTLPProtocol)
	}
}

// newConsoleExporter writes JSON spans to output: "stderr" (also when
// empty), "stdout", or a file path, appended to.
func newConsoleExporter(output string) (sdktrace.SpanExporter, error) {
	var w io.Writer
	var f *os.File
	switch output = strings.TrimSpace(output); output {
	case "", "stderr":
		w = os.Stderr
	case "stdout":
		w = os.Stdout
	default:
		var err error
		f, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envConsoleOutput, err)
		}
		w = f
	}
	exp, err := stdouttrace.New(stdouttrace.WithWriter(w))
	if err != nil {
		if f != nil {
			f.Close()
		}
		return nil, err
	}
	if f == nil {
		return exp, nil
	}
	return &fileExporter{SpanExporter: exp, f: f}, nil
}

// fileExporter closes its file when shut down.
type fileExporter struct {
	sdktrace.SpanExporter
	f *os.File
}

func (e *fileExporter) Shutdown(ctx context.Context) error {
	return errors.Join(e.SpanExporter.Shutdown(ctx), e.f.Close())
}
