package main

import (
	"bytes"
	"os"
	"testing"

	"github.com/sonde-go/auto/internal/offsets"
)

// TestExpandRoundTrip: the committed table, expanded back into
// observations (-keep) and compressed again, is the same table byte for
// byte; with a module skipped, only that module's entries are gone.
func TestExpandRoundTrip(t *testing.T) {
	data, err := os.ReadFile("../../offsets/table.txt")
	if err != nil {
		t.Fatal(err)
	}
	tab, err := offsets.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var fields []offsets.Field
	for f := range tab.Fields {
		fields = append(fields, f)
	}
	back, err := offsets.Compress(expand(tab, fields, nil))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := back.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), data) {
		t.Fatalf("round trip differs: %d bytes, want %d", buf.Len(), len(data))
	}

	const sqlite = "modernc.org/sqlite"
	kept, err := offsets.Compress(expand(tab, fields, map[string]bool{sqlite: true}))
	if err != nil {
		t.Fatal(err)
	}
	if kept.Known[sqlite] != nil {
		t.Errorf("skipped module kept: %v", kept.Known[sqlite])
	}
	n := 0
	for f, fr := range tab.Fields {
		if fr.Module == sqlite {
			if kept.Fields[f] != nil {
				t.Errorf("%s kept", f)
			}
			continue
		}
		n++
		if kr := kept.Fields[f]; kr == nil || len(kr.Runs) != len(fr.Runs) {
			t.Errorf("%s: runs %+v, want %+v", f, kr, fr)
		}
	}
	if n == 0 || len(kept.Fields) != n {
		t.Errorf("%d fields kept, want %d", len(kept.Fields), n)
	}
}

// TestExpandPerArch: runs that differ by arch, and known versions that
// differ by arch under one run, come back as the same observations.
func TestExpandPerArch(t *testing.T) {
	goid := offsets.Field{Struct: "runtime.g", Name: "goid"}
	code := offsets.Field{Struct: "modernc.org/sqlite.Error", Name: "code"}
	o := func(mod, v, arch string, f offsets.Field, off int64) offsets.Observation {
		return offsets.Observation{Module: mod, Version: v, Arch: arch, Field: f, Offset: off, Source: "x.go"}
	}
	obs := []offsets.Observation{
		o(offsets.Std, "go1.19", "amd64", goid, 152), o(offsets.Std, "go1.27", "amd64", goid, 152),
		o(offsets.Std, "go1.19", "arm64", goid, 152), o(offsets.Std, "go1.27", "arm64", goid, 160),
		o("modernc.org/sqlite", "v1.34.2", "amd64", code, 16), o("modernc.org/sqlite", "v1.35.0", "amd64", code, 16),
		o("modernc.org/sqlite", "v1.36.0", "amd64", code, 16), o("modernc.org/sqlite", "v1.36.0", "arm64", code, 16),
		o("modernc.org/sqlite", "v1.34.2", "arm64", code, 16), o("modernc.org/sqlite", "v1.37.0", "arm64", code, -1),
	}
	want, err := offsets.Compress(obs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := offsets.Compress(expand(want, []offsets.Field{goid, code}, nil))
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	if err := want.Encode(&a); err != nil {
		t.Fatal(err)
	}
	if err := got.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatalf("expanded table:\n%s\nwant:\n%s", b.String(), a.String())
	}
	if len(want.Known["modernc.org/sqlite"]) != 2 {
		t.Fatalf("test table's sqlite versions should differ by arch: %v", want.Known["modernc.org/sqlite"])
	}
}
