package auto

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Environment variables read by WithEnv (see doc.go for the full list).
const (
	envTargetExe          = "OTEL_GO_AUTO_TARGET_EXE"
	envTargetPID          = "OTEL_GO_AUTO_TARGET_PID"
	envServiceName        = "OTEL_SERVICE_NAME"
	envIncludeDBStatement = "OTEL_GO_AUTO_INCLUDE_DB_STATEMENT"
	envDBStatementRaw     = "OTEL_GO_AUTO_DB_STATEMENT_RAW"
	envParseDBStatement   = "OTEL_GO_AUTO_PARSE_DB_STATEMENT"
	envGlobal             = "OTEL_GO_AUTO_GLOBAL"
	envLogLevel           = "OTEL_LOG_LEVEL"
)

// ErrNoTarget is returned when neither a PID nor an executable is given.
var ErrNoTarget = errors.New("no target: set a PID or an executable path")

// config is the resolved configuration of an Instrumentation. It is built in
// this order: defaults, then environment (only with WithEnv), then options,
// then validation.
type config struct {
	pid         int    // target process ID; 0 when targetExe is used
	targetExe   string // executable path to wait for when pid is 0
	serviceName string // "" means: target's OTEL_SERVICE_NAME, else unknown_service:<exe>
	resAttrs    []attribute.KeyValue
	useEnv      bool                  // WithEnv given: resource from OTEL_RESOURCE_ATTRIBUTES too
	exporter    sdktrace.SpanExporter // nil means autoexport from OTEL_* env
	logger      logr.Logger
	loggerSet   bool
	// Database switches (off by default: statements can hold personal data).
	includeDBStatement bool
	dbStatementRaw     bool
	parseDBStatement   bool
	globalAuto         bool    // switch on the OTel global tracer's auto path
	problems           []error // invalid environment values, reported at start
}

// InstrumentationOption configures an Instrumentation. It is sealed: only
// the With* functions of this package implement it.
type InstrumentationOption interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// newConfig resolves the options in order and validates the result.
func newConfig(opts []InstrumentationOption) (config, error) {
	c := config{}
	for _, o := range opts {
		c = o.apply(c)
	}
	if !c.loggerSet {
		c.logger = defaultLogger(os.Getenv(envLogLevel))
	}
	if c.pid == 0 && c.targetExe == "" {
		return c, ErrNoTarget
	}
	if c.pid < 0 {
		return c, fmt.Errorf("invalid pid %d", c.pid)
	}
	return c, nil
}

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
// Sonde and of the target).
func WithServiceName(name string) InstrumentationOption {
	return optionFunc(func(c config) config { c.serviceName = name; return c })
}

// WithResourceAttributes adds resource attributes. They override the same
// keys of OTEL_RESOURCE_ATTRIBUTES.
func WithResourceAttributes(attrs ...attribute.KeyValue) InstrumentationOption {
	return optionFunc(func(c config) config {
		c.resAttrs = append(append([]attribute.KeyValue{}, c.resAttrs...), attrs...)
		return c
	})
}

// WithTraceExporter exports spans with exp instead of the exporter chosen
// by OTEL_TRACES_EXPORTER and OTEL_EXPORTER_OTLP_*. Sonde shuts it down on
// Close.
func WithTraceExporter(exp sdktrace.SpanExporter) InstrumentationOption {
	return optionFunc(func(c config) config { c.exporter = exp; return c })
}

// WithLogger sets the logger. It overrides OTEL_LOG_LEVEL's default logger.
func WithLogger(l logr.Logger) InstrumentationOption {
	return optionFunc(func(c config) config { c.logger, c.loggerSet = l, true; return c })
}

// WithDBStatement records db.query.text (literals replaced by ? unless raw
// is true). It overrides OTEL_GO_AUTO_INCLUDE_DB_STATEMENT and
// OTEL_GO_AUTO_DB_STATEMENT_RAW.
func WithDBStatement(include, raw bool) InstrumentationOption {
	return optionFunc(func(c config) config { c.includeDBStatement, c.dbStatementRaw = include, raw; return c })
}

// WithParseDBStatement names database spans "{operation} {table}". It
// overrides OTEL_GO_AUTO_PARSE_DB_STATEMENT.
func WithParseDBStatement(on bool) InstrumentationOption {
	return optionFunc(func(c config) config { c.parseDBStatement = on; return c })
}

// WithGlobal switches on the OpenTelemetry global tracer's auto path in the
// target, so that manual spans join eBPF spans. It overrides
// OTEL_GO_AUTO_GLOBAL.
func WithGlobal(on bool) InstrumentationOption {
	return optionFunc(func(c config) config { c.globalAuto = on; return c })
}

// WithEnv reads the environment variables listed in doc.go. Options given
// after it override what it read; an invalid value is reported at start and
// the default kept.
func WithEnv() InstrumentationOption {
	return optionFunc(func(c config) config {
		c.useEnv = true
		if v := os.Getenv(envTargetExe); v != "" {
			c.targetExe, c.pid = v, 0
		}
		if v := os.Getenv(envTargetPID); v != "" {
			pid, err := strconv.Atoi(v)
			if err != nil || pid <= 0 {
				c.problems = append(c.problems, fmt.Errorf("%s=%q: not a PID", envTargetPID, v))
			} else {
				c.pid, c.targetExe = pid, ""
			}
		}
		if v := os.Getenv(envServiceName); v != "" {
			c.serviceName = v
		}
		for _, b := range []struct {
			name string
			dst  *bool
		}{
			{envIncludeDBStatement, &c.includeDBStatement},
			{envDBStatementRaw, &c.dbStatementRaw},
			{envParseDBStatement, &c.parseDBStatement},
			{envGlobal, &c.globalAuto},
		} {
			v, ok := os.LookupEnv(b.name)
			if !ok || v == "" {
				continue
			}
			on, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				c.problems = append(c.problems, fmt.Errorf("%s=%q: not a boolean", b.name, v))
				continue
			}
			*b.dst = on
		}
		return c
	})
}
