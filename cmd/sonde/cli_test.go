package main

import (
	"errors"
	"flag"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want invocation
	}{
		{nil, invocation{command: cmdAgent}},
		{[]string{"-v"}, invocation{command: cmdAgent, verbose: true}},
		{[]string{"version"}, invocation{command: cmdVersion}},
		{[]string{"run", "./app"}, invocation{command: cmdRun, argv: []string{"./app"}}},
		{[]string{"run", "--", "./app", "-v", "x"}, invocation{command: cmdRun, argv: []string{"./app", "-v", "x"}}},
		// Flags after the program are the program's.
		{[]string{"run", "-v", "./app", "-v"}, invocation{command: cmdRun, verbose: true, argv: []string{"./app", "-v"}}},
		{[]string{"-v", "run", "--", "-app"}, invocation{command: cmdRun, verbose: true, argv: []string{"-app"}}},
		{[]string{"check", "--exe", "/bin/app"}, invocation{command: cmdCheck, exe: "/bin/app"}},
		{[]string{"check", "-pid=42", "-v"}, invocation{command: cmdCheck, pid: 42, verbose: true}},
		{[]string{"demo"}, invocation{command: cmdDemo}},
		{[]string{"demo", "-v"}, invocation{command: cmdDemo, verbose: true}},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestParseArgsHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"run", "-h"}, {"check", "-help"}, {"demo", "-h"}} {
		if _, err := parseArgs(args); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("parseArgs(%q) = %v, want flag.ErrHelp", args, err)
		}
	}
}

func TestParseArgsMistakes(t *testing.T) {
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"-x"}, "flag provided but not defined: -x"},
		{[]string{"run"}, "run: no program given"},
		{[]string{"run", "--"}, "run: no program given"},
		{[]string{"run", "-q", "./app"}, "run: flag provided but not defined: -q"},
		{[]string{"check"}, "check: give --exe PATH or --pid N"},
		{[]string{"check", "--exe", "a", "--pid", "1"}, "check: give --exe or --pid, not both"},
		{[]string{"check", "--pid", "-3"}, "check: --pid -3: not a PID"},
		{[]string{"check", "--pid", "x"}, `check: invalid value "x" for flag -pid: parse error`},
		{[]string{"check", "--exe", "a", "b"}, `check: unexpected argument "b"`},
		{[]string{"demo", "now"}, `demo: unexpected argument "now"`},
		{[]string{"version", "2"}, `version: unexpected argument "2"`},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("parseArgs(%q) = %v, want a usage error", tt.args, err)
			continue
		}
		if err.Error() != tt.msg {
			t.Errorf("parseArgs(%q) = %q, want %q", tt.args, err, tt.msg)
		}
	}
}
