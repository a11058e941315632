package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/offsets"
)

// TestOffsetRows: a probe's offsets are counted by source, and each
// inferred or uncovered one is listed with the library version.
func TestOffsetRows(t *testing.T) {
	f := func(s, n string) offsets.Field { return offsets.Field{Struct: s, Name: n} }
	var tab table
	tab.section("Probes")
	offsetRows(&tab, []offsets.Origin{
		{Field: f("net/http.Request", "Method"), Source: offsets.Exact, Module: "std", Version: "go1.22"},
		{Field: f("runtime.hmap", "B"), Source: offsets.Missing, Module: "std", Version: "go1.26", Reason: offsets.NotInVersion},
		{Field: f("google.golang.org/grpc/internal/transport.Stream", "method"), Source: offsets.Inferred, Module: "google.golang.org/grpc", Version: "v1.64.2", Reason: "not in the table; same offset in v1.64.1 and v1.65.0"},
		{Field: f("google.golang.org/grpc.clientStream", "ctx"), Source: offsets.Missing, Module: "google.golang.org/grpc", Version: "v1.90.0", Reason: "newer than the newest version in the table (v1.85.0)"},
	})
	var b bytes.Buffer
	if err := tab.write(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"offsets", "1 table, 1 inferred, 2 missing",
		"google.golang.org/grpc/internal/transport.Stream.method", "inferred", "google.golang.org/grpc v1.64.2: not in the table; same offset in v1.64.1 and v1.65.0",
		"google.golang.org/grpc.clientStream.ctx", "google.golang.org/grpc v1.90.0: newer than the newest version in the table (v1.85.0)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "runtime.hmap.B") {
		t.Errorf("a field absent from that version is listed:\n%s", out)
	}
}
