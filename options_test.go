package auto

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// rootEnv is every variable of Sonde itself that newConfig reads.
var rootEnv = []string{envTargetExe, envTargetPID, envServiceName, envResource, envLogLevel, envShutdownTimeout, envProbeSites}

// cleanEnv empties every variable newConfig reads (empty means unset),
// then sets env.
func cleanEnv(t *testing.T, decls []probe.Setting, env map[string]string) {
	t.Helper()
	for _, k := range rootEnv {
		t.Setenv(k, "")
	}
	for _, d := range decls {
		t.Setenv(d.Env, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
}

func declared(t *testing.T) []probe.Setting {
	t.Helper()
	decls, err := probe.DeclaredSettings(probes.All())
	if err != nil {
		t.Fatalf("DeclaredSettings(probes.All()): %v", err)
	}
	return decls
}

// TestTargetPrecedence covers the target and service name options and
// variables: each alone, option against variable with WithEnv before and
// after, invalid environment values, invalid options.
func TestTargetPrecedence(t *testing.T) {
	svc := func(v string) attribute.KeyValue { return attribute.String("service.name", v) }
	tests := []struct {
		name     string
		env      map[string]string
		opts     []InstrumentationOption
		pid      int
		exe      string
		service  string
		useEnv   bool
		problems []string // variables reported invalid
		err      error    // errors.Is target
		errMsg   string
	}{
		// Each option alone.
		{name: "WithPID", opts: []InstrumentationOption{WithPID(42)}, pid: 42},
		{name: "WithTarget", opts: []InstrumentationOption{WithTarget("/bin/app")}, exe: "/bin/app"},
		{name: "WithServiceName", opts: []InstrumentationOption{WithPID(1), WithServiceName("svc")}, pid: 1, service: "svc"},
		{name: "WithResourceAttributes service.name", opts: []InstrumentationOption{WithPID(1), WithResourceAttributes(svc("res"))}, pid: 1, service: "res"},
		{name: "WithEnv, empty environment", opts: []InstrumentationOption{WithEnv(), WithPID(1)}, pid: 1, useEnv: true},
		{name: "nil option", opts: []InstrumentationOption{nil, WithPID(1)}, pid: 1},

		// Options among themselves: the last one wins.
		{name: "WithPID then WithTarget", opts: []InstrumentationOption{WithPID(42), WithTarget("/bin/app")}, exe: "/bin/app"},
		{name: "WithTarget then WithPID", opts: []InstrumentationOption{WithTarget("/bin/app"), WithPID(42)}, pid: 42},
		{name: "WithServiceName then service.name attribute", opts: []InstrumentationOption{WithPID(1), WithServiceName("a"), WithResourceAttributes(svc("b"))}, pid: 1, service: "b"},
		{name: "service.name attribute then WithServiceName", opts: []InstrumentationOption{WithPID(1), WithResourceAttributes(svc("b")), WithServiceName("a")}, pid: 1, service: "a"},
		{name: "other attributes keep WithServiceName", opts: []InstrumentationOption{WithPID(1), WithServiceName("a"), WithResourceAttributes(attribute.String("k", "v"))}, pid: 1, service: "a"},

		// Each variable alone.
		{name: "TARGET_PID", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithEnv()}, pid: 42, useEnv: true},
		{name: "TARGET_PID with spaces", env: map[string]string{envTargetPID: " 42\n"}, opts: []InstrumentationOption{WithEnv()}, pid: 42, useEnv: true},
		{name: "TARGET_EXE", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithEnv()}, exe: "/bin/app", useEnv: true},
		{name: "TARGET_PID wins over TARGET_EXE", env: map[string]string{envTargetPID: "42", envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithEnv()}, pid: 42, useEnv: true},
		{name: "SERVICE_NAME", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithEnv(), WithPID(1)}, pid: 1, service: "env", useEnv: true},

		// Variables are not read without WithEnv.
		{name: "TARGET_PID without WithEnv", env: map[string]string{envTargetPID: "42"}, err: ErrNoTarget},
		{name: "TARGET_EXE without WithEnv", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithPID(1)}, pid: 1},
		{name: "SERVICE_NAME without WithEnv", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithPID(1)}, pid: 1},

		// Option against variable, WithEnv first and last.
		{name: "WithPID over TARGET_EXE, WithEnv last", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithPID(7), WithEnv()}, pid: 7, useEnv: true},
		{name: "WithPID over TARGET_EXE, WithEnv first", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithEnv(), WithPID(7)}, pid: 7, useEnv: true},
		{name: "WithPID over TARGET_PID, WithEnv last", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithPID(7), WithEnv()}, pid: 7, useEnv: true},
		{name: "WithPID over TARGET_PID, WithEnv first", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithEnv(), WithPID(7)}, pid: 7, useEnv: true},
		{name: "WithTarget over TARGET_PID, WithEnv last", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithTarget("/bin/opt"), WithEnv()}, exe: "/bin/opt", useEnv: true},
		{name: "WithTarget over TARGET_PID, WithEnv first", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithEnv(), WithTarget("/bin/opt")}, exe: "/bin/opt", useEnv: true},
		{name: "WithTarget over TARGET_EXE, WithEnv last", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithTarget("/bin/opt"), WithEnv()}, exe: "/bin/opt", useEnv: true},
		{name: "WithTarget over TARGET_EXE, WithEnv first", env: map[string]string{envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithEnv(), WithTarget("/bin/opt")}, exe: "/bin/opt", useEnv: true},
		{name: "WithServiceName over SERVICE_NAME, WithEnv last", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithPID(1), WithServiceName("opt"), WithEnv()}, pid: 1, service: "opt", useEnv: true},
		{name: "WithServiceName over SERVICE_NAME, WithEnv first", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithEnv(), WithPID(1), WithServiceName("opt")}, pid: 1, service: "opt", useEnv: true},
		{name: "service.name attribute over SERVICE_NAME, WithEnv last", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithPID(1), WithResourceAttributes(svc("opt")), WithEnv()}, pid: 1, service: "opt", useEnv: true},
		{name: "service.name attribute over SERVICE_NAME, WithEnv first", env: map[string]string{envServiceName: "env"}, opts: []InstrumentationOption{WithEnv(), WithPID(1), WithResourceAttributes(svc("opt"))}, pid: 1, service: "opt", useEnv: true},
		{name: "WithEnv twice", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithEnv(), WithEnv()}, pid: 42, useEnv: true},

		// Invalid environment values: reported, default kept.
		{name: "TARGET_PID not a number", env: map[string]string{envTargetPID: "abc"}, opts: []InstrumentationOption{WithEnv(), WithPID(7)}, pid: 7, useEnv: true, problems: []string{envTargetPID}},
		{name: "TARGET_PID zero", env: map[string]string{envTargetPID: "0", envTargetExe: "/bin/app"}, opts: []InstrumentationOption{WithEnv()}, exe: "/bin/app", useEnv: true, problems: []string{envTargetPID}},
		{name: "TARGET_PID negative", env: map[string]string{envTargetPID: "-3"}, opts: []InstrumentationOption{WithEnv()}, useEnv: true, problems: []string{envTargetPID}, err: ErrNoTarget},

		// Validation.
		{name: "no target", err: ErrNoTarget},
		{name: "no target, WithEnv", opts: []InstrumentationOption{WithEnv()}, useEnv: true, err: ErrNoTarget},
		{name: "WithPID(0)", opts: []InstrumentationOption{WithPID(0)}, err: ErrNoTarget},
		{name: "WithTarget empty", opts: []InstrumentationOption{WithTarget("")}, err: ErrNoTarget},
		{name: "negative pid", opts: []InstrumentationOption{WithPID(-1)}, pid: -1, errMsg: "invalid pid -1"},
		{name: "negative pid over TARGET_PID", env: map[string]string{envTargetPID: "42"}, opts: []InstrumentationOption{WithEnv(), WithPID(-1)}, pid: -1, useEnv: true, errMsg: "invalid pid -1"},
	}
	decls := declared(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cleanEnv(t, decls, tt.env)
			c, err := newConfig(tt.opts, decls)
			switch {
			case tt.err != nil && !errors.Is(err, tt.err):
				t.Errorf("error = %v, want %v", err, tt.err)
			case tt.errMsg != "" && (err == nil || !strings.Contains(err.Error(), tt.errMsg)):
				t.Errorf("error = %v, want %q", err, tt.errMsg)
			case tt.err == nil && tt.errMsg == "" && err != nil:
				t.Errorf("error = %v", err)
			}
			if c.pid != tt.pid || c.targetExe != tt.exe {
				t.Errorf("target = pid %d exe %q, want pid %d exe %q", c.pid, c.targetExe, tt.pid, tt.exe)
			}
			if c.serviceName != tt.service {
				t.Errorf("service name = %q, want %q", c.serviceName, tt.service)
			}
			if c.useEnv != tt.useEnv {
				t.Errorf("useEnv = %v, want %v", c.useEnv, tt.useEnv)
			}
			checkProblems(t, c.problems, tt.problems)
			if !reflect.DeepEqual(c.settings, probe.DefaultSettings(decls)) {
				t.Errorf("settings = %v, want the defaults", c.settings)
			}
		})
	}
}

func checkProblems(t *testing.T, got []error, vars []string) {
	t.Helper()
	if len(got) != len(vars) {
		t.Errorf("problems = %v, want one for each of %v", got, vars)
		return
	}
	for i, v := range vars {
		if !strings.HasPrefix(got[i].Error(), v+"=") {
			t.Errorf("problem %q does not name %s", got[i], v)
		}
	}
}

// otherValue is a valid value of d that is not its default.
func otherValue(t *testing.T, d probe.Setting) string {
	t.Helper()
	if d.Check != nil {
		// Add a case here for settings that are not booleans.
		switch d.Env {
		case "OTEL_GO_AUTO_PROPAGATION":
			return "network"
		case "OTEL_PROPAGATORS":
			return "none"
		}
		t.Fatalf("setting %s: no test value for a non-boolean setting", d.Env)
	}
	on, err := strconv.ParseBool(d.Default)
	if err != nil {
		t.Fatalf("setting %s: default %q: %v", d.Env, d.Default, err)
	}
	return strconv.FormatBool(!on)
}

// TestSettingPrecedence covers every probe setting of probes.All(): the
// default, the variable alone (with and without WithEnv), the option
// alone, option against variable with WithEnv first and last, invalid
// variable values (reported, default kept) and invalid option values
// (error).
func TestSettingPrecedence(t *testing.T) {
	decls := declared(t)
	if len(decls) == 0 {
		t.Fatal("no probe declares a setting")
	}
	for _, d := range decls {
		other := otherValue(t, d)
		tests := []struct {
			name     string
			env      string // value of d.Env; "" means unset
			opts     []InstrumentationOption
			want     string
			problems []string
			err      error
		}{
			{name: "default", want: d.Default},
			{name: "default, WithEnv", opts: []InstrumentationOption{WithEnv()}, want: d.Default},
			{name: "variable", env: other, opts: []InstrumentationOption{WithEnv()}, want: other},
			{name: "variable without WithEnv", env: other, want: d.Default},
			{name: "option", opts: []InstrumentationOption{WithSetting(d.Env, other)}, want: other},
			{name: "last option wins", opts: []InstrumentationOption{WithSetting(d.Env, other), WithSetting(d.Env, d.Default)}, want: d.Default},
			{name: "option over variable, WithEnv last", env: other, opts: []InstrumentationOption{WithSetting(d.Env, d.Default), WithEnv()}, want: d.Default},
			{name: "option over variable, WithEnv first", env: other, opts: []InstrumentationOption{WithEnv(), WithSetting(d.Env, d.Default)}, want: d.Default},
			{name: "invalid variable", env: "maybe", opts: []InstrumentationOption{WithEnv()}, want: d.Default, problems: []string{d.Env}},
			{name: "invalid variable, option", env: "maybe", opts: []InstrumentationOption{WithEnv(), WithSetting(d.Env, other)}, want: other, problems: []string{d.Env}},
			{name: "invalid option", opts: []InstrumentationOption{WithSetting(d.Env, "maybe")}, want: d.Default, err: ErrInvalidSetting},
			{name: "invalid option over variable", env: other, opts: []InstrumentationOption{WithEnv(), WithSetting(d.Env, "maybe")}, want: other, err: ErrInvalidSetting},
		}
		for _, tt := range tests {
			t.Run(d.Env+"/"+tt.name, func(t *testing.T) {
				cleanEnv(t, decls, map[string]string{d.Env: tt.env})
				c, err := newConfig(append([]InstrumentationOption{WithPID(1)}, tt.opts...), decls)
				if !errors.Is(err, tt.err) {
					t.Errorf("error = %v, want %v", err, tt.err)
				}
				if tt.err != nil && err != nil && !strings.Contains(err.Error(), d.Env) {
					t.Errorf("error %q does not name %s", err, d.Env)
				}
				if got := c.settings[d.Env]; got != tt.want {
					t.Errorf("%s = %q, want %q", d.Env, got, tt.want)
				}
				for _, o := range decls {
					if o.Env != d.Env && c.settings[o.Env] != o.Default {
						t.Errorf("%s = %q changed, want its default %q", o.Env, c.settings[o.Env], o.Default)
					}
				}
				checkProblems(t, c.problems, tt.problems)
			})
		}
	}
}

func TestWithSettingErrors(t *testing.T) {
	decls := []probe.Setting{
		probe.BoolSetting("X_ON", false, ""),
		{Env: "X_LEVEL", Default: "low", Check: func(v string) error {
			if v != "low" && v != "high" {
				return errors.New("want low or high")
			}
			return nil
		}},
	}
	cleanEnv(t, decls, nil)
	c, err := newConfig([]InstrumentationOption{WithPID(1), WithSetting("X_LEVEL", "high")}, decls)
	if err != nil || c.settings["X_LEVEL"] != "high" {
		t.Errorf("WithSetting(X_LEVEL, high) = %v, %v", c.settings, err)
	}
	_, err = newConfig([]InstrumentationOption{WithPID(1), WithSetting("X_OFF", "true")}, decls)
	if !errors.Is(err, ErrUnknownSetting) || !strings.Contains(err.Error(), "X_OFF") {
		t.Errorf("unknown name: error = %v, want ErrUnknownSetting naming X_OFF", err)
	}
	_, err = newConfig([]InstrumentationOption{WithPID(1), WithSetting("X_LEVEL", "true")}, decls)
	if !errors.Is(err, ErrInvalidSetting) || !strings.Contains(err.Error(), "want low or high") {
		t.Errorf("invalid value: error = %v, want ErrInvalidSetting with the check's reason", err)
	}
	// Every mistake is reported, before the other validation errors.
	_, err = newConfig([]InstrumentationOption{WithSetting("X_OFF", "1"), WithSetting("X_ON", "yes")}, decls)
	if !errors.Is(err, ErrUnknownSetting) || !errors.Is(err, ErrInvalidSetting) {
		t.Errorf("two mistakes: error = %v, want both", err)
	}
	t.Setenv("X_LEVEL", "mid")
	c, err = newConfig([]InstrumentationOption{WithEnv(), WithPID(1)}, decls)
	if err != nil || c.settings["X_LEVEL"] != "low" {
		t.Errorf("invalid variable: %v, %v; want the default kept", c.settings, err)
	}
	checkProblems(t, c.problems, []string{"X_LEVEL"})
}

// TestOtherOptions covers WithTraceExporter, WithResourceAttributes and
// WithLogger against OTEL_LOG_LEVEL (read with or without WithEnv).
func TestOtherOptions(t *testing.T) {
	decls := declared(t)
	cleanEnv(t, decls, nil)
	exp := tracetest.NewInMemoryExporter()
	a, b, a2 := attribute.String("a", "1"), attribute.String("b", "2"), attribute.String("a", "3")
	c, err := newConfig([]InstrumentationOption{WithPID(1), WithTraceExporter(exp), WithResourceAttributes(a, b), WithResourceAttributes(a2)}, decls)
	if err != nil {
		t.Fatal(err)
	}
	if c.exporter != exp {
		t.Errorf("exporter = %v, want the one given", c.exporter)
	}
	if want := []attribute.KeyValue{a, b, a2}; !reflect.DeepEqual(c.resAttrs, want) {
		t.Errorf("resource attributes = %v, want %v", c.resAttrs, want)
	}
	if c, _ := newConfig([]InstrumentationOption{WithPID(1)}, decls); c.exporter != nil {
		t.Errorf("default exporter = %v, want nil (autoexport)", c.exporter)
	}

	var logged []string
	mine := funcr.New(func(_, args string) { logged = append(logged, args) }, funcr.Options{})
	for _, level := range []string{"", "debug", "error"} {
		for _, env := range []bool{false, true} {
			t.Setenv(envLogLevel, level)
			opts := []InstrumentationOption{WithPID(1)}
			if env {
				opts = append(opts, WithEnv())
			}
			c, _ := newConfig(opts, decls)
			if got, want := c.logger.V(1).Enabled(), level == "debug"; got != want {
				t.Errorf("OTEL_LOG_LEVEL=%q (WithEnv %v): debug enabled = %v, want %v", level, env, got, want)
			}
			if got, want := c.logger.Enabled(), level != "error"; got != want {
				t.Errorf("OTEL_LOG_LEVEL=%q (WithEnv %v): info enabled = %v, want %v", level, env, got, want)
			}
			for _, opts := range [][]InstrumentationOption{{WithEnv(), WithPID(1), WithLogger(mine)}, {WithLogger(mine), WithPID(1), WithEnv()}} {
				c, _ := newConfig(opts, decls)
				c.logger.Info("hello")
			}
		}
	}
	if len(logged) != 12 {
		t.Errorf("WithLogger's logger got %d lines, want 12: it overrides OTEL_LOG_LEVEL", len(logged))
	}
	if c, _ := newConfig([]InstrumentationOption{WithPID(1), WithLogger(logr.Discard())}, decls); c.logger.GetSink() != nil {
		t.Errorf("WithLogger(logr.Discard()) replaced by %v", c.logger)
	}
}

func TestDefaultLogger(t *testing.T) {
	tests := []struct {
		level       string
		debug, info bool
	}{
		{"", false, true},
		{"info", false, true},
		{"DEBUG", true, true},
		{" debug ", true, true},
		{"warn", false, false},
		{"warning", false, false},
		{"error", false, false},
		{"bogus", false, true},
	}
	for _, tt := range tests {
		l := defaultLogger(tt.level)
		if l.V(1).Enabled() != tt.debug || l.Enabled() != tt.info {
			t.Errorf("defaultLogger(%q): debug %v info %v, want %v %v", tt.level, l.V(1).Enabled(), l.Enabled(), tt.debug, tt.info)
		}
	}
}

// TestShutdownTimeoutSetting: OTEL_GO_AUTO_SHUTDOWN_TIMEOUT (with WithEnv)
// takes a duration or milliseconds; WithShutdownTimeout overrides it.
func TestShutdownTimeoutSetting(t *testing.T) {
	decls := declared(t)
	for _, tc := range []struct {
		env     string
		opts    []InstrumentationOption
		want    time.Duration
		problem bool
	}{
		{"", nil, defaultShutdownTimeout, false},
		{"10s", nil, 10 * time.Second, false},
		{"2500", nil, 2500 * time.Millisecond, false},
		{"0", nil, defaultShutdownTimeout, true},
		{"-1s", nil, defaultShutdownTimeout, true},
		{"soon", nil, defaultShutdownTimeout, true},
		{"10s", []InstrumentationOption{WithShutdownTimeout(time.Second)}, time.Second, false},
	} {
		cleanEnv(t, decls, map[string]string{envShutdownTimeout: tc.env})
		for _, opts := range [][]InstrumentationOption{append([]InstrumentationOption{WithEnv()}, tc.opts...), append(tc.opts, WithEnv())} {
			c, err := newConfig(append(opts, WithPID(1)), decls)
			if err != nil {
				t.Fatalf("%s=%q: %v", envShutdownTimeout, tc.env, err)
			}
			if c.shutdownTimeout != tc.want || (len(c.problems) > 0) != tc.problem {
				t.Errorf("%s=%q, %d options: timeout %v, problems %v; want %v, problem %v", envShutdownTimeout, tc.env, len(tc.opts), c.shutdownTimeout, c.problems, tc.want, tc.problem)
			}
		}
	}
	if _, err := newConfig([]InstrumentationOption{WithPID(1), WithShutdownTimeout(0)}, decls); err == nil {
		t.Error("WithShutdownTimeout(0) accepted")
	}
}
