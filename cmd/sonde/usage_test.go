package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// joinLines joins the lines of s with single spaces: the help text wraps.
func joinLines(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestUsageListsSettings: `sonde help` lists every probe setting with its
// default and doc, from the declarations.
func TestUsageListsSettings(t *testing.T) {
	decls, err := probe.DeclaredSettings(probes.All())
	if err != nil {
		t.Fatal(err)
	}
	u := joinLines(usage())
	for _, d := range decls {
		if want := d.Env + " (default " + d.Default + ") " + joinLines(d.Doc); !strings.Contains(u, want) {
			t.Errorf("usage does not list %q", want)
		}
	}
}

// TestUsageListsEnvironment: `sonde help` lists every variable Sonde
// reads, with the default the code uses (auto.Environment; the root
// package checks it against the code and README.md).
func TestUsageListsEnvironment(t *testing.T) {
	u := joinLines(usage())
	for _, v := range auto.Environment() {
		want := v.Name
		if v.Default != "" {
			want += " (default " + v.Default + ")"
		}
		if want += " " + joinLines(v.Doc); !strings.Contains(u, want) {
			t.Errorf("usage does not list %q", want)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("sonde check %d when at least one probe would attach; %d when none would or the binary cannot be read; %d on a usage mistake", exitOK, exitNothing, exitUsage),
		"with none set, OTLP over plain HTTP to http://localhost:4318",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("usage does not say %q", want)
		}
	}
	for _, line := range strings.Split(usage(), "\n") {
		if len(line) > 80 {
			t.Errorf("usage line longer than 80 columns: %q", line)
		}
	}
}
