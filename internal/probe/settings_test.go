package probe_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/probe"
)

// plainProbe is a probe with a name and no settings; the embedded
// interface stands for every other method (never called).
type plainProbe struct {
	probe.Probe
	name string
}

func (p plainProbe) Name() string { return p.name }

// fakeProbe is a probe that declares settings.
type fakeProbe struct {
	plainProbe
	settings []probe.Setting
}

func (p fakeProbe) Settings() []probe.Setting { return p.settings }

func plain(name string) probe.Probe { return plainProbe{name: name} }

func configurable(name string, s ...probe.Setting) probe.Probe {
	return fakeProbe{plainProbe{name: name}, s}
}

func checkLevel(v string) error {
	switch v {
	case "low", "high":
		return nil
	}
	return fmt.Errorf("%q: want low or high", v)
}

func TestBoolSetting(t *testing.T) {
	s := probe.BoolSetting("X_ON", true, "doc")
	if want := (probe.Setting{Env: "X_ON", Default: "true", Doc: "doc"}); !reflect.DeepEqual(s, want) {
		t.Fatalf("BoolSetting = %+v, want %+v", s, want)
	}
	for _, v := range []string{"true", "false", "1", "0", "T", "FALSE", " true "} {
		if err := s.Validate(v); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", v, err)
		}
	}
	for _, v := range []string{"", "yes", "on", "2", "truee"} {
		if err := s.Validate(v); err == nil {
			t.Errorf("Validate(%q) = nil, want an error", v)
		}
	}
}

func TestSettingCheck(t *testing.T) {
	s := probe.Setting{Env: "X_LEVEL", Default: "low", Check: checkLevel}
	if err := s.Validate("high"); err != nil {
		t.Errorf("Validate(high) = %v", err)
	}
	if err := s.Validate("true"); err == nil {
		t.Errorf("Validate(true) = nil: Check must replace the boolean parse")
	}
}

func TestSettingsValues(t *testing.T) {
	decls := []probe.Setting{
		probe.BoolSetting("A", false, ""),
		probe.BoolSetting("B", true, ""),
		{Env: "C", Default: "low", Check: checkLevel},
	}
	s := probe.DefaultSettings(decls)
	if want := (probe.Settings{"A": "false", "B": "true", "C": "low"}); !reflect.DeepEqual(s, want) {
		t.Fatalf("DefaultSettings = %v, want %v", s, want)
	}
	s["A"] = " 1 "
	tests := []struct {
		env  string
		want bool
	}{
		{"A", true}, {"B", true}, {"C", false}, {"unset", false},
	}
	for _, tt := range tests {
		if got := s.Bool(tt.env); got != tt.want {
			t.Errorf("Bool(%q) = %v, want %v", tt.env, got, tt.want)
		}
	}
	if got := s.String("C"); got != "low" {
		t.Errorf("String(C) = %q, want low", got)
	}
	var none probe.Settings // a Target built without settings
	if none.Bool("A") || none.String("C") != "" {
		t.Errorf("nil Settings must read as unset")
	}
}

func TestDeclaredSettings(t *testing.T) {
	a := probe.BoolSetting("A", false, "a")
	b := probe.BoolSetting("B", true, "b")
	c := probe.Setting{Env: "C", Default: "low", Doc: "c", Check: checkLevel}
	got, err := probe.DeclaredSettings([]probe.Probe{
		configurable("one", a, c),
		plain("none"),
		configurable("two", b, a), // the same declaration of A: shared, kept once
		configurable("three", c),
	})
	if err != nil {
		t.Fatalf("DeclaredSettings: %v", err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Env)
	}
	if want := []string{"A", "C", "B"}; !reflect.DeepEqual(names, want) {
		t.Errorf("DeclaredSettings = %v, want %v (probe order, each once)", names, want)
	}
	if got, err := probe.DeclaredSettings([]probe.Probe{plain("none")}); err != nil || len(got) != 0 {
		t.Errorf("DeclaredSettings(no settings) = %v, %v; want none", got, err)
	}
}

func TestDeclaredSettingsErrors(t *testing.T) {
	a := probe.BoolSetting("A", false, "a")
	other := func(string) error { return nil }
	tests := []struct {
		name   string
		probes []probe.Probe
		is     error  // wanted errors.Is target, if any
		msg    string // wanted in the message
	}{
		{"other default", []probe.Probe{configurable("one", a), configurable("two", probe.BoolSetting("A", true, "a"))}, probe.ErrSettingConflict, "probe two: A"},
		{"other doc", []probe.Probe{configurable("one", a), configurable("two", probe.BoolSetting("A", false, "b"))}, probe.ErrSettingConflict, "A"},
		{"other check", []probe.Probe{configurable("one", a), configurable("two", probe.Setting{Env: "A", Default: "false", Doc: "a", Check: other})}, probe.ErrSettingConflict, "A"},
		{"other check func", []probe.Probe{
			configurable("one", probe.Setting{Env: "L", Default: "low", Check: checkLevel}),
			configurable("two", probe.Setting{Env: "L", Default: "low", Check: other}),
		}, probe.ErrSettingConflict, "L"},
		{"no name", []probe.Probe{configurable("one", probe.BoolSetting("", false, "x"))}, nil, "probe one: setting with no name"},
		{"invalid default", []probe.Probe{configurable("one", probe.Setting{Env: "B", Default: "yes"})}, nil, "probe one: default of B"},
		{"invalid checked default", []probe.Probe{configurable("one", probe.Setting{Env: "L", Default: "mid", Check: checkLevel})}, nil, "default of L"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := probe.DeclaredSettings(tt.probes)
			if err == nil {
				t.Fatal("DeclaredSettings = nil error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
		})
	}
}
