package auto

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
)

// newSelf instruments the test process itself (nothing is loaded: no
// kernel or privilege needed) with an in-memory exporter.
func newSelf(t *testing.T, opts ...InstrumentationOption) *Instrumentation {
	t.Helper()
	base := []InstrumentationOption{WithPID(os.Getpid()), WithTraceExporter(tracetest.NewInMemoryExporter()), WithLogger(logr.Discard())}
	inst, err := NewInstrumentation(context.Background(), append(base, opts...)...)
	if err != nil {
		t.Fatalf("NewInstrumentation: %v", err)
	}
	t.Cleanup(func() { inst.Close() })
	return inst
}

func TestNewInstrumentationErrors(t *testing.T) {
	decls := declared(t)
	cleanEnv(t, decls, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		opts []InstrumentationOption
		is   error
		msg  string
	}{
		{"no target", nil, ErrNoTarget, ""},
		{"no target, WithEnv", []InstrumentationOption{WithEnv()}, ErrNoTarget, ""},
		{"negative pid", []InstrumentationOption{WithPID(-5)}, nil, "invalid pid -5"},
		{"unknown setting", []InstrumentationOption{WithPID(os.Getpid()), WithSetting("OTEL_GO_AUTO_NO_SUCH_SETTING", "true")}, ErrUnknownSetting, "OTEL_GO_AUTO_NO_SUCH_SETTING"},
		{"invalid setting", []InstrumentationOption{WithPID(os.Getpid()), WithSetting(decls[0].Env, "maybe")}, ErrInvalidSetting, decls[0].Env},
		{"no such process", []InstrumentationOption{WithPID(1<<30 + 1)}, nil, "process exited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, err := NewInstrumentation(ctx, tt.opts...)
			if err == nil {
				inst.Close()
				t.Fatal("NewInstrumentation succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}

// TestWaitTarget: WithTarget and OTEL_GO_AUTO_TARGET_EXE wait for a
// process running the executable, and give up when ctx ends.
func TestWaitTarget(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	decls := declared(t)
	quiet := []InstrumentationOption{WithTraceExporter(tracetest.NewInMemoryExporter()), WithLogger(logr.Discard())}
	for _, tt := range []struct {
		name string
		env  map[string]string
		opts []InstrumentationOption
	}{
		{"WithTarget", nil, []InstrumentationOption{WithTarget(self)}},
		{"TARGET_EXE", map[string]string{envTargetExe: self}, []InstrumentationOption{WithEnv()}},
		{"WithTarget over TARGET_PID", map[string]string{envTargetPID: "1"}, []InstrumentationOption{WithTarget(self), WithEnv()}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t, decls, tt.env)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			inst, err := NewInstrumentation(ctx, append(quiet, tt.opts...)...)
			if err != nil {
				t.Fatalf("NewInstrumentation: %v", err)
			}
			defer inst.Close()
			if inst.PID() != os.Getpid() {
				t.Errorf("PID = %d, want %d (this test)", inst.PID(), os.Getpid())
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	missing := filepath.Join(t.TempDir(), "never-started")
	if _, err := NewInstrumentation(ctx, append(quiet, WithTarget(missing))...); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for %s: error = %v, want the context's", missing, err)
	}
}

// pointerHandler is comparable, so that the global handler can be checked
// unchanged.
type pointerHandler struct{}

func (*pointerHandler) Handle(error) {}

// TestNoGlobalState: NewInstrumentation leaves the process-wide
// OpenTelemetry state alone.
func TestNoGlobalState(t *testing.T) {
	cleanEnv(t, declared(t), nil)
	mine := &pointerHandler{}
	prev := otel.GetErrorHandler()
	otel.SetErrorHandler(mine)
	t.Cleanup(func() { otel.SetErrorHandler(prev) })
	tp := otel.GetTracerProvider()
	prop := otel.GetTextMapPropagator()

	inst := newSelf(t)
	if err := inst.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if h := otel.GetErrorHandler(); h != otel.ErrorHandler(mine) {
		t.Errorf("the global error handler was replaced by %T", h)
	}
	if otel.GetTracerProvider() != tp || !reflect.DeepEqual(otel.GetTextMapPropagator(), prop) {
		t.Errorf("the global tracer provider or propagator changed")
	}
}

// TestSettingsReachTarget: the resolved settings are what probes get.
func TestSettingsReachTarget(t *testing.T) {
	decls := declared(t)
	cleanEnv(t, decls, nil)
	d := decls[0]
	other := otherValue(t, d)

	inst := newSelf(t)
	if want := probe.DefaultSettings(decls); !reflect.DeepEqual(inst.target.Settings, want) {
		t.Errorf("Target.Settings = %v, want the defaults %v", inst.target.Settings, want)
	}
	inst = newSelf(t, WithSetting(d.Env, other))
	want := probe.DefaultSettings(decls)
	want[d.Env] = other
	if !reflect.DeepEqual(inst.target.Settings, want) {
		t.Errorf("Target.Settings = %v, want %v", inst.target.Settings, want)
	}
}

// TestLifecycleWithoutLoad: Run needs Load; Stats and Close work without.
func TestLifecycleWithoutLoad(t *testing.T) {
	cleanEnv(t, declared(t), nil)
	inst := newSelf(t)
	if err := inst.Run(context.Background()); err == nil {
		t.Error("Run before Load succeeded")
	}
	if s := inst.Stats(); s.Events != 0 || s.Spans != 0 || len(s.Overflows) != 0 || s.InFlight != nil {
		t.Errorf("Stats before Load = %+v, want zero", s)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestTraceExporterFromEnv: without WithTraceExporter the exporter comes from
// OTEL_TRACES_EXPORTER (read with or without WithEnv); with it, that
// variable is not read.
func TestTraceExporterFromEnv(t *testing.T) {
	cleanEnv(t, declared(t), nil)
	ctx := context.Background()
	pid := WithPID(os.Getpid())
	quiet := WithLogger(logr.Discard())

	t.Setenv("OTEL_TRACES_EXPORTER", "none")
	inst, err := NewInstrumentation(ctx, pid, quiet)
	if err != nil {
		t.Fatalf("OTEL_TRACES_EXPORTER=none: %v", err)
	}
	inst.Close()

	t.Setenv("OTEL_TRACES_EXPORTER", "bogus")
	if inst, err := NewInstrumentation(ctx, pid, quiet); err == nil {
		inst.Close()
		t.Error("OTEL_TRACES_EXPORTER=bogus: NewInstrumentation succeeded")
	} else if !strings.Contains(err.Error(), "creating exporter") {
		t.Errorf("OTEL_TRACES_EXPORTER=bogus: error = %v", err)
	}
	newSelf(t) // WithTraceExporter: the variable is not read
}

// TestResource covers service.name and the resource attributes: options,
// Sonde's environment (with WithEnv), the target's environment and the
// default, and the attributes every span carries.
func TestResource(t *testing.T) {
	decls := declared(t)
	exe, _ := process.ExePath(os.Getpid())
	fallback := "unknown_service:" + filepath.Base(exe)
	if env, err := process.Environ(os.Getpid()); err == nil && env[envServiceName] != "" {
		fallback = env[envServiceName] // the target's own (this test's initial environment)
	}
	svc := func(v string) attribute.KeyValue { return semconv.ServiceName(v) }
	tests := []struct {
		name    string
		env     map[string]string
		opts    []InstrumentationOption
		service string
		attrs   map[attribute.Key]string // wanted among the resource attributes
		absent  []attribute.Key
	}{
		{name: "default", service: fallback},
		{name: "WithServiceName", opts: []InstrumentationOption{WithServiceName("opt")}, service: "opt"},
		{name: "WithResourceAttributes", opts: []InstrumentationOption{WithResourceAttributes(svc("res"), attribute.String("k", "opt"))}, service: "res", attrs: map[attribute.Key]string{"k": "opt"}},
		{name: "SERVICE_NAME", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithEnv()}, service: "env"},
		{name: "SERVICE_NAME without WithEnv", env: map[string]string{envServiceName: "env"}, service: fallback},
		{name: "RESOURCE_ATTRIBUTES", env: map[string]string{envResource: "service.name=ra,k=env"}, opts: []InstrumentationOption{WithEnv()}, service: "ra", attrs: map[attribute.Key]string{"k": "env"}},
		{name: "RESOURCE_ATTRIBUTES without WithEnv", env: map[string]string{envResource: "service.name=ra,k=env"}, service: fallback, absent: []attribute.Key{"k"}},
		{name: "SERVICE_NAME over RESOURCE_ATTRIBUTES", env: map[string]string{envServiceName: "env", envResource: "service.name=ra"}, opts: []InstrumentationOption{WithEnv()}, service: "env"},
		{name: "WithServiceName over both, WithEnv last", env: map[string]string{envServiceName: "env", envResource: "service.name=ra"}, opts: []InstrumentationOption{WithServiceName("opt"), WithEnv()}, service: "opt"},
		{name: "WithServiceName over both, WithEnv first", env: map[string]string{envServiceName: "env", envResource: "service.name=ra"}, opts: []InstrumentationOption{WithEnv(), WithServiceName("opt")}, service: "opt"},
		{name: "WithResourceAttributes over RESOURCE_ATTRIBUTES, WithEnv last", env: map[string]string{envResource: "service.name=ra,k=env,e=env"}, opts: []InstrumentationOption{WithResourceAttributes(svc("res"), attribute.String("k", "opt")), WithEnv()}, service: "res", attrs: map[attribute.Key]string{"k": "opt", "e": "env"}},
		{name: "WithResourceAttributes over SERVICE_NAME, WithEnv first", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithEnv(), WithResourceAttributes(svc("res"))}, service: "res"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t, decls, tt.env)
			inst := newSelf(t, tt.opts...)
			res, err := inst.resource(context.Background())
			if err != nil {
				t.Fatalf("resource: %v", err)
			}
			set := res.Set()
			get := func(k attribute.Key) string {
				v, _ := set.Value(k)
				return v.Emit()
			}
			if got := get(semconv.ServiceNameKey); got != tt.service {
				t.Errorf("service.name = %q, want %q", got, tt.service)
			}
			for k, want := range tt.attrs {
				if got := get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if set.HasValue(k) {
					t.Errorf("%s = %q, want absent", k, get(k))
				}
			}
			for k, want := range map[attribute.Key]string{
				semconv.ProcessPIDKey:             strconv.Itoa(os.Getpid()),
				semconv.ProcessExecutablePathKey:  exe,
				semconv.ProcessExecutableNameKey:  filepath.Base(exe),
				semconv.ProcessRuntimeNameKey:     "go",
				semconv.TelemetryDistroNameKey:    "sonde",
				semconv.TelemetryDistroVersionKey: Version,
				semconv.TelemetrySDKLanguageKey:   "go",
			} {
				if got := get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// hungExporter is a collector that does not answer.
type hungExporter struct{}

func (hungExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	<-ctx.Done()
	return ctx.Err()
}

func (hungExporter) Shutdown(context.Context) error { return nil }

// TestCloseShutdownTimeout: Close waits no longer than the shutdown
// timeout for a collector that does not answer, and says how many spans
// were not sent.
func TestCloseShutdownTimeout(t *testing.T) {
	cleanEnv(t, declared(t), nil)
	inst := newSelf(t, WithTraceExporter(hungExporter{}), WithShutdownTimeout(200*time.Millisecond))
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})
	inst.pl.Register(77, instrumentation.Scope{Name: "test"}, func([]byte, *pipeline.Clock) (tracetest.SpanStub, error) {
		return tracetest.SpanStub{Name: "queued", SpanContext: sc}, nil
	})
	for range 3 {
		inst.pl.Handle([]byte{77, 0, 0, 0})
	}
	start := time.Now()
	err := inst.Close()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v with a 200ms shutdown timeout", d)
	}
	want := "span export unfinished at shutdown: 3 spans not sent within the 200ms shutdown timeout"
	if !errors.Is(err, ErrShutdownTimeout) || err.Error() != want {
		t.Errorf("Close = %v, want %q", err, want)
	}
	if s := inst.Stats(); s.Dropped != 3 {
		t.Errorf("Stats after Close: %+v, want 3 dropped", s)
	}
}
