package auto

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/contrib/exporters/autoexport"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/otelconv"
)

// envMetricsExporter chooses the reader of Sonde's own metrics; always read.
const envMetricsExporter = "OTEL_METRICS_EXPORTER"

// The variables that choose where OTLP metrics go, besides the ones all
// signals share (endpointSet).
const (
	envOTLPMetricsEndpoint    = "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"
	envOTLPMetricsInsecure    = "OTEL_EXPORTER_OTLP_METRICS_INSECURE"
	envOTLPMetricsCertificate = "OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE"
	envOTLPMetricsProtocol    = "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
	otlpMetricsPath           = "/v1/metrics"
)

// meterName is the instrumentation scope of Sonde's own metrics.
const meterName = "github.com/sonde-go/auto"

// Names of Sonde's own metrics that no semantic convention defines (the
// otel.sdk.* ones come from semconv's otelconv).
const (
	MetricEventsRead     = "sonde.events.read"     // ring buffer records read
	MetricSpansDropped   = "sonde.spans.dropped"   // spans and events lost, by error.type
	MetricBPFOverflows   = "sonde.bpf.overflows"   // BPF-side overflows, by sonde.bpf.counter
	MetricBPFInFlight    = "sonde.bpf.inflight"    // entries of the BPF in-flight maps, by sonde.bpf.map
	MetricProbesAttached = "sonde.probes.attached" // probes attached, by sonde.probe.name
)

// Attributes of Sonde's own metrics.
const (
	attrBPFCounter = attribute.Key("sonde.bpf.counter")
	attrBPFMap     = attribute.Key("sonde.bpf.map")
	attrProbeName  = attribute.Key("sonde.probe.name")
)

// The error.type values of MetricSpansDropped and of the otel.sdk.*
// metrics: why a span or event was lost.
const (
	DropQueueFull      = "queue_full"      // the export queue was full (Stats.Dropped)
	DropExportFailed   = "export_failed"   // the exporter failed (Stats.ExportErrors)
	DropRingbufFull    = "ringbuf_full"    // BPF found the ring buffer full (Stats.KernelDrops)
	DropDecodeError    = "decode_error"    // a record could not be decoded (Stats.DecodeErrors)
	DropAnnotationLost = "annotation_lost" // an sdk annotation's span never came (Stats.AnnotationsLost)
)

// selfMetrics exports Sonde's own health through the OpenTelemetry
// metrics SDK; its instruments are asynchronous, observed from Stats.
type selfMetrics struct {
	log   logr.Logger
	mp    *sdkmetric.MeterProvider
	meter metric.Meter
	reg   metric.Registration
}

// newSelfMetrics builds the meter provider of Sonde's metrics, with the
// spans' resource. A reader that cannot be built is logged and the
// metrics are off: they are no reason not to trace.
func newSelfMetrics(ctx context.Context, cfg config, res *resource.Resource, log logr.Logger) *selfMetrics {
	r := cfg.metricReader
	if r == nil && !metricsByDefault(cfg) {
		return nil
	}
	if r == nil {
		var err error
		r, err = newMetricReader(ctx)
		if err != nil {
			log.Info("Sonde's own metrics are off", "error", err.Error())
			return nil
		}
		if autoexport.IsNoneMetricReader(r) {
			return nil
		}
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r), sdkmetric.WithResource(res))
	return &selfMetrics{log: log, mp: mp, meter: mp.Meter(meterName, metric.WithInstrumentationVersion(Version))}
}

// metricsByDefault reports whether Sonde's metrics are on when neither
// WithMetricReader nor OTEL_METRICS_EXPORTER chooses: they follow the
// spans to the OTLP collector, and are off when the spans go to the
// console, nowhere, or an exporter given with WithTraceExporter.
func metricsByDefault(cfg config) bool {
	if strings.TrimSpace(os.Getenv(envMetricsExporter)) != "" {
		return true
	}
	name := strings.TrimSpace(os.Getenv(envTracesExporter))
	return cfg.exporter == nil && (name == "" || name == defaultTracesExporter)
}

// newMetricReader returns the reader OTEL_METRICS_EXPORTER names, through
// autoexport; for otlp (the default) with no endpoint, security or CA
// variable set, Sonde points it at the specification's default in
// plaintext, as for traces.
func newMetricReader(ctx context.Context) (sdkmetric.Reader, error) {
	name := strings.TrimSpace(os.Getenv(envMetricsExporter))
	if (name == "" || name == "otlp") && !metricsEndpointSet() {
		proto := strings.TrimSpace(os.Getenv(envOTLPMetricsProtocol))
		if proto == "" {
			proto = strings.TrimSpace(os.Getenv(envOTLPProtocol))
		}
		var exp sdkmetric.Exporter
		var err error
		switch proto {
		case "", "http/protobuf":
			exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(defaultOTLPHTTPEndpoint+otlpMetricsPath))
		case "grpc":
			exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpointURL(defaultOTLPGRPCEndpoint))
		default:
			return nil, fmt.Errorf("%s=%q: %w", envOTLPProtocol, proto, errOTLPProtocol)
		}
		if err != nil {
			return nil, fmt.Errorf("creating the OTLP metric exporter: %w", err)
		}
		return sdkmetric.NewPeriodicReader(exp), nil
	}
	r, err := autoexport.NewMetricReader(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating the metric reader from %s: %w", envMetricsExporter, err)
	}
	return r, nil
}

// metricsEndpointSet reports whether the user chose where OTLP metrics go.
func metricsEndpointSet() bool {
	if endpointSet() {
		return true
	}
	for _, v := range []string{envOTLPMetricsEndpoint, envOTLPMetricsInsecure, envOTLPMetricsCertificate} {
		if os.Getenv(v) != "" {
			return true
		}
	}
	return false
}

// observe registers the instruments, observed from i's Stats. Call it once
// the probes are loaded.
func (m *selfMetrics) observe(i *Instrumentation) error {
	if m == nil {
		return nil
	}
	exported, err1 := otelconv.NewSDKExporterSpanExportedObservable(m.meter)
	processed, err2 := otelconv.NewSDKProcessorSpanProcessedObservable(m.meter)
	qsize, err3 := otelconv.NewSDKProcessorSpanQueueSize(m.meter)
	qcap, err4 := otelconv.NewSDKProcessorSpanQueueCapacity(m.meter)
	events, err5 := m.meter.Int64ObservableCounter(MetricEventsRead, metric.WithUnit("{event}"),
		metric.WithDescription("Ring buffer records read."))
	dropped, err6 := m.meter.Int64ObservableCounter(MetricSpansDropped, metric.WithUnit("{span}"),
		metric.WithDescription("Spans (or, for ringbuf_full, events) lost, by error.type."))
	overflows, err7 := m.meter.Int64ObservableCounter(MetricBPFOverflows, metric.WithUnit("{event}"),
		metric.WithDescription("Events or entries BPF could not store, by sonde.bpf.counter."))
	inflight, err8 := m.meter.Int64ObservableGauge(MetricBPFInFlight, metric.WithUnit("{entry}"),
		metric.WithDescription("Entries of the BPF correlation and in-flight maps, by sonde.bpf.map."))
	probes, err9 := m.meter.Int64ObservableGauge(MetricProbesAttached, metric.WithUnit("{probe}"),
		metric.WithDescription("Probes attached (1) or detached (0), by sonde.probe.name."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6, err7, err8, err9); err != nil {
		return fmt.Errorf("creating Sonde's metrics: %w", err)
	}
	var loaded []string
	for _, st := range i.mgr.Statuses() {
		if st.Loaded {
			loaded = append(loaded, st.Probe)
		}
	}
	component := processed.AttrComponentType(otelconv.ComponentTypeBatchingSpanProcessor)
	reg, err := m.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s := i.Stats()
		ps := i.pl.Stats()
		o.ObserveInt64(exported.Inst(), int64(s.Exported))
		o.ObserveInt64(exported.Inst(), int64(s.ExportErrors), metric.WithAttributes(semconv.ErrorTypeKey.String(DropExportFailed)))
		o.ObserveInt64(processed.Inst(), int64(s.Exported+s.ExportErrors), metric.WithAttributes(component))
		o.ObserveInt64(processed.Inst(), int64(s.Dropped), metric.WithAttributes(component, semconv.ErrorTypeKey.String(DropQueueFull)))
		queued, capacity := i.pl.Queue()
		o.ObserveInt64(qsize.Inst(), queued, metric.WithAttributes(component))
		o.ObserveInt64(qcap.Inst(), capacity, metric.WithAttributes(component))
		o.ObserveInt64(events, int64(s.Events))
		for _, d := range []struct {
			reason string
			n      uint64
		}{
			{DropQueueFull, s.Dropped}, {DropExportFailed, s.ExportErrors}, {DropRingbufFull, s.KernelDrops},
			{DropDecodeError, s.DecodeErrors + ps.UnknownKinds}, {DropAnnotationLost, s.AnnotationsLost},
		} {
			o.ObserveInt64(dropped, int64(d.n), metric.WithAttributes(semconv.ErrorTypeKey.String(d.reason)))
		}
		for name, n := range s.Overflows {
			o.ObserveInt64(overflows, int64(n), metric.WithAttributes(attrBPFCounter.String(name)))
		}
		for name, n := range s.InFlight {
			o.ObserveInt64(inflight, int64(n), metric.WithAttributes(attrBPFMap.String(name)))
		}
		attached := int64(1)
		if i.detached() {
			attached = 0
		}
		for _, p := range loaded {
			o.ObserveInt64(probes, attached, metric.WithAttributes(attrProbeName.String(p)))
		}
		return nil
	}, exported.Inst(), processed.Inst(), qsize.Inst(), qcap.Inst(), events, dropped, overflows, inflight, probes)
	if err != nil {
		return fmt.Errorf("registering Sonde's metrics: %w", err)
	}
	m.reg = reg
	return nil
}

// shutdown exports the last values and stops the reader. Its errors are
// logged: a collector without metrics must not make stopping fail.
func (m *selfMetrics) shutdown(ctx context.Context) {
	if m == nil {
		return
	}
	if err := m.mp.Shutdown(ctx); err != nil {
		m.log.Info("exporting Sonde's own metrics at stop", "error", err.Error())
	}
	if m.reg != nil {
		m.reg.Unregister()
	}
}

// detached reports whether Close has unloaded the probes.
func (i *Instrumentation) detached() bool {
	i.countMu.Lock()
	defer i.countMu.Unlock()
	return i.closed != nil
}
