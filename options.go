package auto

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// Environment variables of Sonde itself (see doc.go for the full list; the
// probe settings are declared by the probes).
const (
	envTargetExe   = "OTEL_GO_AUTO_TARGET_EXE"
	envTargetPID   = "OTEL_GO_AUTO_TARGET_PID"
	envServiceName = "OTEL_SERVICE_NAME"
	envResource    = "OTEL_RESOURCE_ATTRIBUTES" // read by resource.WithFromEnv
	envLogLevel    = "OTEL_LOG_LEVEL"
	// envShutdownTimeout: a Go duration ("10s") or milliseconds.
	envShutdownTimeout = "OTEL_GO_AUTO_SHUTDOWN_TIMEOUT"
	// envProbeSites: "emulated" (default) or "classic" probe sites.
	envProbeSites = "OTEL_GO_AUTO_PROBE_SITES"
	// envRequire: comma-separated features (kernel.FeatureNames) whose
	// absence is an error at Load instead of a log line.
	envRequire = "OTEL_GO_AUTO_REQUIRE"
	// envQueueSize: the OpenTelemetry batch span processor's queue size,
	// always read.
	envQueueSize = "OTEL_BSP_MAX_QUEUE_SIZE"
)

// defaultShutdownTimeout bounds how long Close waits for the exporter to
// take the last spans.
const defaultShutdownTimeout = 5 * time.Second

var (
	// ErrNoTarget is returned when neither a PID nor an executable is given.
	ErrNoTarget = errors.New("no target: set a PID or an executable path")
	// ErrUnknownSetting is returned when WithSetting names no probe
	// setting.
	ErrUnknownSetting = errors.New("unknown probe setting")
	// ErrInvalidSetting is returned when WithSetting gives a value the
	// setting does not accept.
	ErrInvalidSetting = errors.New("invalid probe setting value")
)

// config is the resolved configuration of an Instrumentation. newConfig
// builds it in this order: defaults, then the environment (only with
// WithEnv, wherever it is in the list), then the options in order, then
// validation.
type config struct {
	pid         int    // target process ID; 0 when targetExe is used
	targetExe   string // executable path to wait for when pid is 0
	serviceName string // "" means: OTEL_RESOURCE_ATTRIBUTES, target's OTEL_SERVICE_NAME, else unknown_service:<exe>
	resAttrs    []attribute.KeyValue
	useEnv      bool                  // WithEnv given: resource from OTEL_RESOURCE_ATTRIBUTES too
	exporter    sdktrace.SpanExporter // nil means autoexport from OTEL_* env
	logger      logr.Logger
	loggerSet   bool
	// shutdownTimeout bounds the flush of Close.
	shutdownTimeout time.Duration
	// classicSites keeps the first-byte and ret probe sites
	// (OTEL_GO_AUTO_PROBE_SITES=classic).
	classicSites bool
	// decls are the probe settings by name; settings their values.
	decls    map[string]probe.Setting
	settings probe.Settings
	sampler  *probe.Sampler // nil: from OTEL_TRACES_SAMPLER (always read)
	require  []string       // features that must work (OTEL_GO_AUTO_REQUIRE, WithRequire)
	problems []error        // invalid environment values, reported at start
	errs     []error        // invalid option values, returned by newConfig

	// queueSize bounds the spans waiting for or in export
	// (OTEL_BSP_MAX_QUEUE_SIZE, always read; WithQueueSize).
	queueSize int
	// metricReader reads Sonde's own metrics; nil: from
	// OTEL_METRICS_EXPORTER (always read).
	metricReader sdkmetric.Reader
}

// InstrumentationOption configures an Instrumentation. It is sealed: only
// the With* functions of this package implement it.
type InstrumentationOption interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// envOption is WithEnv. It does nothing in the option pass: newConfig
// reads the environment before any option when the list holds one.
type envOption struct{}

func (envOption) apply(c config) config { return c }

// newConfig resolves the options over the probe settings decls.
func newConfig(opts []InstrumentationOption, decls []probe.Setting) (config, error) {
	c := config{decls: make(map[string]probe.Setting, len(decls)), settings: probe.DefaultSettings(decls), shutdownTimeout: defaultShutdownTimeout}
	// The sampler variables are the OpenTelemetry SDK's: read whatever
	// the options, like the exporter's; WithSampler overrides them.
	s, problems := samplerFromEnv()
	c.sampler, c.problems = &s, problems
	// OTEL_BSP_MAX_QUEUE_SIZE is the SDK's too: read whatever the options.
	c.queueSize = pipeline.DefaultQueueSize
	if v := os.Getenv(envQueueSize); v != "" {
		if n, err := parseQueueSize(v); err != nil {
			c.problems = append(c.problems, fmt.Errorf("%s=%q: %w", envQueueSize, v, err))
		} else {
			c.queueSize = n
		}
	}
	for _, d := range decls {
		c.decls[d.Env] = d
	}
	for _, o := range opts {
		if _, ok := o.(envOption); ok {
			c = c.fromEnv(decls)
			break
		}
	}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if !c.loggerSet {
		c.logger = defaultLogger(os.Getenv(envLogLevel))
	}
	if err := errors.Join(c.errs...); err != nil {
		return c, err
	}
	if c.pid < 0 {
		return c, fmt.Errorf("invalid pid %d", c.pid)
	}
	if c.pid == 0 && c.targetExe == "" {
		return c, ErrNoTarget
	}
	return c, nil
}

// fromEnv is the environment layer: every variable of doc.go that is set
// and valid replaces its default; invalid ones are kept in c.problems.
func (c config) fromEnv(decls []probe.Setting) config {
	c.useEnv = true
	if v := os.Getenv(envTargetExe); v != "" {
		c.targetExe, c.pid = v, 0
	}
	if v := os.Getenv(envTargetPID); v != "" { // the PID wins over the executable
		pid, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || pid <= 0 {
			c.problems = append(c.problems, fmt.Errorf("%s=%q: not a PID", envTargetPID, v))
		} else {
			c.pid, c.targetExe = pid, ""
		}
	}
	if v := os.Getenv(envServiceName); v != "" {
		c.serviceName = v
	}
	if v := os.Getenv(envShutdownTimeout); v != "" {
		d, err := parseTimeout(v)
		if err != nil {
			c.problems = append(c.problems, fmt.Errorf("%s=%q: %w", envShutdownTimeout, v, err))
		} else {
			c.shutdownTimeout = d
		}
	}
	if v := os.Getenv(envRequire); v != "" {
		c.require = requireList(v)
	}
	switch v := strings.TrimSpace(os.Getenv(envProbeSites)); v {
	case "", "emulated":
	case "classic":
		c.classicSites = true
	default:
		c.problems = append(c.problems, fmt.Errorf("%s=%q: want emulated or classic", envProbeSites, v))
	}
	for _, d := range decls {
		v := os.Getenv(d.Env)
		if v == "" {
			continue
		}
		if err := d.Validate(v); err != nil {
			c.problems = append(c.problems, fmt.Errorf("%s=%q: %w", d.Env, v, err))
			continue
		}
		c.settings[d.Env] = v
	}
	return c
}

// parseTimeout reads a positive Go duration ("10s") or a number of
// milliseconds, as the OpenTelemetry timeout variables are written.
func parseTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	d, err := time.ParseDuration(v)
	if err != nil {
		ms, err := strconv.ParseUint(v, 10, 63)
		if err != nil {
			return 0, errors.New("not a duration (10s) or milliseconds (10000)")
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d <= 0 {
		return 0, errors.New("not a positive duration")
	}
	return d, nil
}

// WithEnv reads the environment variables listed in doc.go. Wherever it is
// in the list, the environment is the layer under every other option: an
// option overrides the variable it names. An invalid value is reported in
// the log and the default kept.
func WithEnv() InstrumentationOption { return envOption{} }

// WithPID instruments the running process pid. It overrides
// OTEL_GO_AUTO_TARGET_PID and OTEL_GO_AUTO_TARGET_EXE.
func WithPID(pid int) InstrumentationOption {
	return optionFunc(func(c config) config { c.pid, c.targetExe = pid, ""; return c })
}

// WithTarget instruments the process running the executable at path,
// waiting for it to start. It overrides OTEL_GO_AUTO_TARGET_EXE and
// OTEL_GO_AUTO_TARGET_PID.
func WithTarget(path string) InstrumentationOption {
	return optionFunc(func(c config) config { c.targetExe, c.pid = path, 0; return c })
}

// WithServiceName sets service.name. It overrides OTEL_SERVICE_NAME (of
// Sonde and of the target) and service.name in OTEL_RESOURCE_ATTRIBUTES.
func WithServiceName(name string) InstrumentationOption {
	return optionFunc(func(c config) config { c.serviceName = name; return c })
}

// WithResourceAttributes adds resource attributes. They override the same
// keys of OTEL_RESOURCE_ATTRIBUTES; a service.name among them overrides
// OTEL_SERVICE_NAME too.
func WithResourceAttributes(attrs ...attribute.KeyValue) InstrumentationOption {
	return optionFunc(func(c config) config {
		c.resAttrs = append(append([]attribute.KeyValue{}, c.resAttrs...), attrs...)
		for _, kv := range attrs {
			if kv.Key == semconv.ServiceNameKey {
				c.serviceName = kv.Value.AsString()
			}
		}
		return c
	})
}

// WithTraceExporter exports spans with exp instead of the exporter chosen
// by OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_* and
// OTEL_GO_AUTO_CONSOLE_OUTPUT. Sonde shuts it down on Close.
func WithTraceExporter(exp sdktrace.SpanExporter) InstrumentationOption {
	return optionFunc(func(c config) config { c.exporter = exp; return c })
}

// WithShutdownTimeout bounds how long Close waits for the exporter to take
// the spans still queued (default 5s); what it has not taken by then is
// counted as dropped, and Close's error, matching ErrShutdownTimeout, says
// how many. It overrides OTEL_GO_AUTO_SHUTDOWN_TIMEOUT. A d <= 0 makes
// NewInstrumentation fail.
func WithShutdownTimeout(d time.Duration) InstrumentationOption {
	return optionFunc(func(c config) config {
		if d <= 0 {
			c.errs = append(c.errs, fmt.Errorf("shutdown timeout %v: not a positive duration", d))
			return c
		}
		c.shutdownTimeout = d
		return c
	})
}

// WithQueueSize bounds the spans that wait for the exporter or are in
// export (default 8192): beyond it spans are dropped and counted in
// Stats.Dropped. It overrides OTEL_BSP_MAX_QUEUE_SIZE. An n <= 0 makes
// NewInstrumentation fail.
func WithQueueSize(n int) InstrumentationOption {
	return optionFunc(func(c config) config {
		if n <= 0 {
			c.errs = append(c.errs, fmt.Errorf("queue size %d: not a positive number", n))
			return c
		}
		c.queueSize = n
		return c
	})
}

// parseQueueSize reads a positive number of spans.
func parseQueueSize(v string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n <= 0 {
		return 0, errors.New("not a positive number of spans")
	}
	return n, nil
}

// WithMetricReader reads Sonde's own metrics (see doc.go, Metrics) with r
// instead of the reader chosen by OTEL_METRICS_EXPORTER, e.g. an
// sdkmetric.ManualReader. Sonde shuts it down on Close.
func WithMetricReader(r sdkmetric.Reader) InstrumentationOption {
	return optionFunc(func(c config) config { c.metricReader = r; return c })
}

// WithLogger sets the logger. It overrides OTEL_LOG_LEVEL's default logger.
func WithLogger(l logr.Logger) InstrumentationOption {
	return optionFunc(func(c config) config { c.logger, c.loggerSet = l, true; return c })
}

// Propagation is a mechanism for outgoing trace context (WithPropagation).
type Propagation string

// Outgoing trace context mechanisms.
const (
	// PropagationAuto: the uprobe write path where the kernel allows
	// bpf_probe_write_user, else the network path.
	PropagationAuto Propagation = "auto"
	// PropagationUprobe writes the traceparent header into the request's
	// buffer (bpf_probe_write_user; refused under kernel lockdown).
	PropagationUprobe Propagation = "uprobe"
	// PropagationNetwork adds it to the request's bytes as the kernel
	// sends them (sock_ops + sk_msg; plaintext HTTP/1.x only; needs
	// CAP_NET_ADMIN with CAP_BPF and CAP_PERFMON).
	PropagationNetwork Propagation = "network"
	// PropagationOff sends no trace context.
	PropagationOff Propagation = "off"
)

// WithPropagation chooses how outgoing net/http requests carry the trace
// context. It overrides OTEL_GO_AUTO_PROPAGATION, and OTEL_PROPAGATORS=none
// unless p is PropagationOff.
func WithPropagation(p Propagation) InstrumentationOption {
	return optionFunc(func(c config) config {
		c = WithSetting("OTEL_GO_AUTO_PROPAGATION", string(p)).apply(c)
		if _, ok := c.decls["OTEL_PROPAGATORS"]; ok && p != PropagationOff {
			c.settings["OTEL_PROPAGATORS"] = "tracecontext"
		}
		return c
	})
}

// WithRequire makes each named feature a requirement: Load fails when
// missing privileges or the kernel switch it off, instead of logging one
// line and going on without it. The names are those `sonde check` prints:
// spans, other-user, target-env, user-write, bpf-write, memlock, net-path.
// It overrides OTEL_GO_AUTO_REQUIRE (comma-separated names).
func WithRequire(features ...string) InstrumentationOption {
	return optionFunc(func(c config) config {
		c.require = append([]string(nil), features...)
		return c
	})
}

// requireList splits a comma-separated OTEL_GO_AUTO_REQUIRE value.
func requireList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// WithSetting sets the probe setting whose environment variable is name
// to value, as it would be written in the environment. It overrides that
// variable. The settings, their values and defaults are listed in doc.go.
// NewInstrumentation fails with an error wrapping ErrUnknownSetting or
// ErrInvalidSetting when name or value is wrong.
func WithSetting(name, value string) InstrumentationOption {
	return optionFunc(func(c config) config {
		d, ok := c.decls[name]
		if !ok {
			c.errs = append(c.errs, fmt.Errorf("setting %s: %w", name, ErrUnknownSetting))
			return c
		}
		if err := d.Validate(value); err != nil {
			c.errs = append(c.errs, fmt.Errorf("setting %s=%q: %w: %w", name, value, ErrInvalidSetting, err))
			return c
		}
		c.settings[name] = value
		return c
	})
}
