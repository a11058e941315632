package auto

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/otlptest"
)

// clearExportEnv unsets every exporter variable for the test.
func clearExportEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_EXPORTER_OTLP_") || k == envTracesExporter || k == envConsoleOutput {
			t.Setenv(k, "") // restored after the test
			os.Unsetenv(k)
		}
	}
}

// exportOne sends one span through a new exporter from the environment.
func exportOne(t *testing.T, name string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	exp, err := newSpanExporter(ctx)
	if err != nil {
		t.Fatalf("newSpanExporter: %v", err)
	}
	defer exp.Shutdown(context.Background())
	span := tracetest.SpanStub{
		Name: name,
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{1}, SpanID: trace.SpanID{2}, TraceFlags: trace.FlagsSampled,
		}),
		StartTime: time.Now(), EndTime: time.Now(),
	}
	return exp.ExportSpans(ctx, tracetest.SpanStubs{span}.Snapshots())
}

// TestDefaultOTLPEndpoint: with no OTEL_EXPORTER_OTLP_* variable, spans go
// to the specification's default, plaintext: http://localhost:4318 for
// http/protobuf, :4317 for grpc.
func TestDefaultOTLPEndpoint(t *testing.T) {
	for _, tc := range []struct {
		protocol string
		rcv      otlptest.Option
	}{
		{"", otlptest.HTTPAddr("127.0.0.1:4318")},
		{"grpc", otlptest.GRPCAddr("127.0.0.1:4317")},
	} {
		t.Run("protocol="+tc.protocol, func(t *testing.T) {
			clearExportEnv(t)
			rcv := otlptest.Start(t, tc.rcv)
			if tc.protocol != "" {
				t.Setenv(envOTLPProtocol, tc.protocol)
			}
			if err := exportOne(t, "default endpoint"); err != nil {
				t.Fatalf("export to the default endpoint: %v", err)
			}
			if s := rcv.WaitSpans(t, 1, 10*time.Second); s[0].Name != "default endpoint" {
				t.Errorf("received %q", s[0].Name)
			}
		})
	}
}

// TestExplicitEndpoint: an endpoint variable is used as it is written; its
// scheme decides TLS.
func TestExplicitEndpoint(t *testing.T) {
	clearExportEnv(t)
	rcv := otlptest.Start(t)
	t.Setenv(envOTLPEndpoint, rcv.Endpoint())
	if err := exportOne(t, "explicit http"); err != nil {
		t.Fatalf("export to %s: %v", rcv.Endpoint(), err)
	}
	rcv.WaitSpans(t, 1, 10*time.Second)

	// https:// to a plaintext receiver: TLS is attempted, and fails.
	t.Setenv(envOTLPEndpoint, strings.Replace(rcv.Endpoint(), "http://", "https://", 1))
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "2000")
	if err := exportOne(t, "explicit https"); err == nil {
		t.Error("https:// to a plaintext receiver succeeded: the endpoint's scheme was overridden")
	}

	// A traces endpoint alone is used as is too.
	t.Setenv(envOTLPEndpoint, "")
	t.Setenv(envOTLPTracesEndpoint, rcv.Endpoint()+"/v1/traces")
	if err := exportOne(t, "traces endpoint"); err != nil {
		t.Fatalf("export to the traces endpoint: %v", err)
	}
	rcv.WaitSpans(t, 2, 10*time.Second)
}

// TestConsoleOutput: the console exporter writes to stderr, not stdout,
// or to the file OTEL_GO_AUTO_CONSOLE_OUTPUT names.
func TestConsoleOutput(t *testing.T) {
	clearExportEnv(t)
	t.Setenv(envTracesExporter, "console")

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, stdout := os.Stderr, os.Stdout
	os.Stderr = w
	out, outw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout = outw
	err = exportOne(t, "to stderr")
	os.Stderr, os.Stdout = stderr, stdout
	w.Close()
	outw.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b, o strings.Builder
	buf := make([]byte, 1<<16)
	for n, _ := r.Read(buf); n > 0; n, _ = r.Read(buf) {
		b.Write(buf[:n])
	}
	for n, _ := out.Read(buf); n > 0; n, _ = out.Read(buf) {
		o.Write(buf[:n])
	}
	if !strings.Contains(b.String(), `"Name":"to stderr"`) || o.Len() != 0 {
		t.Errorf("stderr %q, stdout %q: want the span on stderr only", &b, &o)
	}

	file := filepath.Join(t.TempDir(), "spans.json")
	t.Setenv(envConsoleOutput, file)
	if err := exportOne(t, "to a file"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(file)
	if err != nil || !strings.Contains(string(data), `"Name":"to a file"`) {
		t.Errorf("%s: %q, %v", file, data, err)
	}

	t.Setenv(envConsoleOutput, filepath.Join(t.TempDir(), "no", "such", "dir"))
	if _, err := newSpanExporter(context.Background()); err == nil || !strings.Contains(err.Error(), envConsoleOutput) {
		t.Errorf("unwritable %s: %v", envConsoleOutput, err)
	}
}
