package reliability

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// points reads every metric of r: name -> attribute set -> value.
func points(t *testing.T, r *sdkmetric.ManualReader) map[string]map[attribute.Distinct]int64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("collecting: %v", err)
	}
	out := map[string]map[attribute.Distinct]int64{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/sonde-go/auto" {
			t.Errorf("scope %q", sm.Scope.Name)
		}
		for _, m := range sm.Metrics {
			vals := map[attribute.Distinct]int64{}
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					vals[p.Attributes.Equivalent()] = p.Value
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					vals[p.Attributes.Equivalent()] = p.Value
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
			out[m.Name] = vals
		}
	}
	return out
}

func set(kv ...attribute.KeyValue) attribute.Distinct {
	s := attribute.NewSet(kv...)
	return s.Equivalent()
}

// TestSelfMetrics: Sonde's own metrics, read by a manual reader, match
// Stats while it runs and after Close, with the drops by reason.
func TestSelfMetrics(t *testing.T) {
	p, _ := server(t)
	rcv := startCounter(t)
	r := sdkmetric.NewManualReader()
	a := instrument(t, p.Cmd.Process.Pid, rcv.Env(), auto.WithMetricReader(r))
	get(t, p.Addr, "/hello", 10)
	rcv.wait(t, "/hello", 10, 30*time.Second)
	// The receiver has the spans before the exporter's call returns and
	// the pipeline counts them exported.
	testenv.Eventually(t, 10*time.Second, func() error {
		if n := a.Stats().Exported; n < 10 {
			return fmt.Errorf("%d spans counted exported, want 10", n)
		}
		return nil
	})

	m := points(t, r)
	s := a.Stats()
	errType := attribute.Key("error.type")
	batching := attribute.String("otel.component.type", "batching_span_processor")
	for _, c := range []struct {
		name string
		at   attribute.Distinct
		want int64
	}{
		{"otel.sdk.exporter.span.exported", set(), int64(s.Exported)},
		{"otel.sdk.exporter.span.exported", set(errType.String(auto.DropExportFailed)), 0},
		{"otel.sdk.processor.span.processed", set(batching), int64(s.Exported)},
		{"otel.sdk.processor.span.processed", set(batching, errType.String(auto.DropQueueFull)), 0},
		{"otel.sdk.processor.span.queue.capacity", set(batching), 8192},
		{"otel.sdk.processor.span.queue.size", set(batching), 0},
		{auto.MetricEventsRead, set(), int64(s.Events)},
		{auto.MetricSpansDropped, set(errType.String(auto.DropRingbufFull)), 0},
		{auto.MetricBPFOverflows, set(attribute.String("sonde.bpf.counter", ringbufFull)), 0},
		{auto.MetricBPFInFlight, set(attribute.String("sonde.bpf.map", "server_inflight")), 0},
		{auto.MetricProbesAttached, set(attribute.String("sonde.probe.name", "net/http server")), 1},
	} {
		got, ok := m[c.name][c.at]
		if !ok {
			t.Errorf("%s %v: no point; have %v", c.name, c.at, m[c.name])
		} else if got != c.want {
			t.Errorf("%s %v = %d, want %d", c.name, c.at, got, c.want)
		}
	}
	if s.Exported < 10 {
		t.Errorf("Stats.Exported %d, want at least 10", s.Exported)
	}
	for _, reason := range []string{auto.DropQueueFull, auto.DropExportFailed, auto.DropRingbufFull, auto.DropDecodeError, auto.DropAnnotationLost} {
		if _, ok := m[auto.MetricSpansDropped][set(errType.String(reason))]; !ok {
			t.Errorf("%s has no %s point", auto.MetricSpansDropped, reason)
		}
	}

	if err := a.close(t); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// After Close the reader is shut down: its last collection was the
	// final one, made after the last spans (a manual reader cannot be read
	// again).
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err == nil {
		t.Error("the metric reader was not shut down by Close")
	}
}
