package auto

import (
	"context"
	"strconv"
	"testing"

	"go.opentelemetry.io/contrib/exporters/autoexport"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// TestMetricsByDefault: unset, Sonde's metrics follow the spans: on for
// OTLP, off for the console, none or an exporter of the caller's.
func TestMetricsByDefault(t *testing.T) {
	for _, c := range []struct {
		metrics, traces string
		custom          bool
		want            bool
	}{
		{"", "", false, true},
		{"", "otlp", false, true},
		{"", "console", false, false},
		{"", "none", false, false},
		{"", "", true, false},
		{"console", "none", false, true},
		{"none", "otlp", false, true}, // chosen: autoexport's none reader
	} {
		t.Setenv(envMetricsExporter, c.metrics)
		t.Setenv(envTracesExporter, c.traces)
		cfg := config{}
		if c.custom {
			cfg.exporter = nopExporter{}
		}
		if got := metricsByDefault(cfg); got != c.want {
			t.Errorf("%s=%q %s=%q custom=%v: %v, want %v", envMetricsExporter, c.metrics, envTracesExporter, c.traces, c.custom, got, c.want)
		}
	}
}

// TestMetricReader: none is autoexport's no-op reader (metrics off), an
// unknown name an error, and otlp with no endpoint Sonde's plaintext
// default.
func TestMetricReader(t *testing.T) {
	t.Setenv(envOTLPEndpoint, "")
	t.Setenv(envMetricsExporter, "none")
	r, err := newMetricReader(context.Background())
	if err != nil || !autoexport.IsNoneMetricReader(r) {
		t.Errorf("none: %T, %v", r, err)
	}
	t.Setenv(envMetricsExporter, "bogus")
	if _, err := newMetricReader(context.Background()); err == nil {
		t.Error("bogus: no error")
	}
	t.Setenv(envMetricsExporter, "otlp")
	r, err = newMetricReader(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*sdkmetric.PeriodicReader); !ok {
		t.Errorf("otlp: %T, want a periodic reader", r)
	}
	r.Shutdown(context.Background())
}

// TestQueueSize: OTEL_BSP_MAX_QUEUE_SIZE sets the queue (an invalid value
// is reported and the default kept), WithQueueSize overrides it.
func TestQueueSize(t *testing.T) {
	for _, c := range []struct {
		env      string
		opts     []InstrumentationOption
		want     int
		problems int
		fails    bool
	}{
		{"", nil, pipeline.DefaultQueueSize, 0, false},
		{"100", nil, 100, 0, false},
		{" 100 ", nil, 100, 0, false},
		{"0", nil, pipeline.DefaultQueueSize, 1, false},
		{"x", nil, pipeline.DefaultQueueSize, 1, false},
		{"100", []InstrumentationOption{WithQueueSize(7)}, 7, 0, false},
		{"", []InstrumentationOption{WithQueueSize(0)}, 0, 0, true},
	} {
		t.Setenv(envQueueSize, c.env)
		cfg, err := newConfig(append([]InstrumentationOption{WithPID(1)}, c.opts...), nil)
		if c.fails {
			if err == nil {
				t.Errorf("%q %d options: no error", c.env, len(c.opts))
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if cfg.queueSize != c.want || len(cfg.problems) != c.problems {
			t.Errorf("%q: queue %d, problems %v; want %d, %d problems", c.env, cfg.queueSize, cfg.problems, c.want, c.problems)
		}
	}
}

// TestQueueSizeDocumented: the default Environment states is the code's.
func TestQueueSizeDocumented(t *testing.T) {
	for _, v := range Environment() {
		if v.Name == envQueueSize && v.Default != strconv.Itoa(pipeline.DefaultQueueSize) {
			t.Errorf("%s default %q, pipeline.DefaultQueueSize %d", v.Name, v.Default, pipeline.DefaultQueueSize)
		}
	}
}

// nopExporter stands for an exporter given with WithTraceExporter.
type nopExporter struct{}

func (nopExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (nopExporter) Shutdown(context.Context) error                             { return nil }
