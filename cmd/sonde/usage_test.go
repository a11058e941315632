package main

import (
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// TestUsageListsSettings: `sonde help` lists every probe setting with its
// default and doc, from the declarations.
func TestUsageListsSettings(t *testing.T) {
	decls, err := probe.DeclaredSettings(probes.All())
	if err != nil {
		t.Fatal(err)
	}
	u := usage()
	for _, d := range decls {
		if want := d.Env + " (default " + d.Default + ")\n      " + d.Doc + "\n"; !strings.Contains(u, want) {
			t.Errorf("usage does not list %q", want)
		}
	}
}
