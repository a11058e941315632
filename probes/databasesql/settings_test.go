package databasesql

import (
	"testing"

	"github.com/sonde-go/auto/internal/probe"
)

func TestSettings(t *testing.T) {
	var _ probe.Configurable = Probe{}
	decls, err := probe.DeclaredSettings([]probe.Probe{Probe{}})
	if err != nil {
		t.Fatalf("DeclaredSettings: %v", err)
	}
	if len(decls) != 3 {
		t.Fatalf("declared %d settings, want 3", len(decls))
	}
	// By default the statement, literals masked, and the parsed name;
	// never the raw literals (they can hold personal data).
	if got, want := statementSettings(&probe.Target{Settings: probe.DefaultSettings(decls)}), (statementConfig{include: true, parse: true}); got != want {
		t.Errorf("defaults = %+v, want %+v", got, want)
	}
	tests := []struct {
		set  probe.Settings
		want statementConfig
	}{
		{probe.Settings{EnvIncludeStatement: "true"}, statementConfig{include: true}},
		{probe.Settings{EnvIncludeStatement: "1", EnvStatementRaw: "true"}, statementConfig{include: true, raw: true}},
		{probe.Settings{EnvParseStatement: "TRUE"}, statementConfig{parse: true}},
		{probe.Settings{EnvIncludeStatement: "false", EnvParseStatement: "true"}, statementConfig{parse: true}},
	}
	for _, tt := range tests {
		if got := statementSettings(&probe.Target{Settings: tt.set}); got != tt.want {
			t.Errorf("statementSettings(%v) = %+v, want %+v", tt.set, got, tt.want)
		}
	}
}
