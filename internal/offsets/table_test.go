package offsets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

var (
	fMethod = Field{Struct: "google.golang.org/grpc/internal/transport.Stream", Name: "method"}
	fGoid   = Field{Struct: "runtime.g", Name: "goid"}
	fEmb    = Field{Struct: "google.golang.org/grpc/internal/transport.ServerStream", Name: "Stream"}
)

func obs(mod, v, arch string, f Field, off int64) Observation {
	return Observation{Module: mod, Version: v, Arch: arch, Field: f, Offset: off, Source: "src.go"}
}

const grpcMod = "google.golang.org/grpc"

// testTable: method is 80 in v1.60.0..v1.61.0, 88 in v1.63.0..v1.65.0
// (v1.62.0 and v1.64.0 unknown); ServerStream.Stream absent before
// v1.65.0; goid at 152 everywhere but at 160 on arm64 in go1.27.
func testTable(t *testing.T) *VersionTable {
	t.Helper()
	var o []Observation
	for _, arch := range []string{"amd64", "arm64"} {
		o = append(o,
			obs(grpcMod, "v1.60.0", arch, fMethod, 80),
			obs(grpcMod, "v1.61.0", arch, fMethod, 80),
			obs(grpcMod, "v1.63.0", arch, fMethod, 88),
			obs(grpcMod, "v1.65.0", arch, fMethod, 88),
			obs(grpcMod, "v1.65.0", arch, fEmb, 0),
			obs(Std, "go1.19.8", arch, fGoid, 152),
			obs(Std, "go1.23.5", arch, fGoid, 152),
		)
	}
	o = append(o, obs(Std, "go1.27.3", "amd64", fGoid, 152), obs(Std, "go1.27.3", "arm64", fGoid, 160))
	// builds of v1.60.0 that do not link ServerStream: absent
	tab, err := Compress(o)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestCompress(t *testing.T) {
	tab := testTable(t)
	got := tab.Fields[fMethod].Runs
	want := []Run{
		{Arch: AnyArch, From: "v1.60.0", To: "v1.61.0", Offset: 80, Source: "src.go"},
		{Arch: AnyArch, From: "v1.63.0", To: "v1.65.0", Offset: 88, Source: "src.go"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("method runs = %+v, want %+v", got, want)
	}
	emb := tab.Fields[fEmb].Runs
	if len(emb) != 2 || emb[0].Offset != absent || emb[0].To != "v1.63.0" || emb[1].From != "v1.65.0" || emb[1].Offset != 0 {
		t.Fatalf("ServerStream.Stream runs = %+v", emb)
	}
	goid := tab.Fields[fGoid].Runs
	if len(goid) != 3 || goid[0].Arch != "amd64" || goid[0].From != "go1.19" || goid[0].To != "go1.27" || goid[1].To != "go1.23" || goid[2].Offset != 160 {
		t.Fatalf("goid runs (arch-specific) = %+v", goid)
	}
	if k := tab.Known[grpcMod][AnyArch]; strings.Join(k, " ") != "v1.60.0 v1.61.0 v1.63.0 v1.65.0" {
		t.Fatalf("known grpc versions = %v", k)
	}
	// The text form reads back the same.
	var buf bytes.Buffer
	if err := tab.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Decode(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var buf2 bytes.Buffer
	if err := back.Encode(&buf2); err != nil {
		t.Fatal(err)
	}
	if buf.String() != buf2.String() {
		t.Fatalf("round trip differs:\n%s\n---\n%s", buf.String(), buf2.String())
	}
}

func TestCompressConflict(t *testing.T) {
	_, err := Compress([]Observation{obs(grpcMod, "v1.60.0", "amd64", fMethod, 80), obs(grpcMod, "v1.60.0", "amd64", fMethod, 88)})
	if err == nil {
		t.Fatal("two builds of one version with different offsets were accepted")
	}
}

func TestLookup(t *testing.T) {
	tab := testTable(t)
	for _, c := range []struct {
		name, mod, ver, arch string
		f                    Field
		off                  uint64
		src                  Source
		reason               string
	}{
		{"exact", grpcMod, "v1.61.0", "amd64", fMethod, 80, Exact, ""},
		{"exact arm64", grpcMod, "v1.63.0", "arm64", fMethod, 88, Exact, ""},
		{"gap inside a run", grpcMod, "v1.64.0", "amd64", fMethod, 88, Inferred, "same offset in v1.63.0 and v1.65.0"},
		{"patch inside a run", grpcMod, "v1.60.1", "arm64", fMethod, 80, Inferred, "v1.60.0 and v1.61.0"},
		{"gap across a layout change", grpcMod, "v1.62.0", "amd64", fMethod, 0, Missing, "layout changes between v1.61.0 and v1.63.0"},
		{"newer than known", grpcMod, "v1.66.0", "amd64", fMethod, 0, Missing, "newer than the newest"},
		{"older than known", grpcMod, "v1.59.0", "amd64", fMethod, 0, Missing, "older than the oldest"},
		{"absent in that version", grpcMod, "v1.61.0", "amd64", fEmb, 0, Missing, "not in this version"},
		{"absent on both sides", grpcMod, "v1.62.0", "amd64", fEmb, 0, Missing, "absent in v1.61.0 and v1.63.0"},
		{"std exact by minor", Std, "go1.23.2", "amd64", fGoid, 152, Exact, ""},
		{"std gap", Std, "go1.21.13", "arm64", fGoid, 152, Inferred, "go1.19 and go1.23"},
		{"std gap on amd64", Std, "go1.26.8", "amd64", fGoid, 152, Inferred, ""},
		{"std gap across an arm64 change", Std, "go1.26.8", "arm64", fGoid, 0, Missing, "layout changes between go1.23 and go1.27"},
		{"std arm64 exact", Std, "go1.27.3", "arm64", fGoid, 160, Exact, ""},
		{"not semver", grpcMod, "(devel)", "amd64", fMethod, 0, Missing, "not comparable"},
		{"wrong module", "example.com/fork", "v1.61.0", "amd64", fMethod, 0, Missing, "not in the table"},
	} {
		t.Run(c.name, func(t *testing.T) {
			off, o := tab.Lookup(c.f, c.mod, c.ver, c.arch)
			if off != c.off || o.Source != c.src || !strings.Contains(o.Reason, c.reason) {
				t.Fatalf("Lookup = %d, %v (%s); want %d, %v (%q)", off, o.Source, o.Reason, c.off, c.src, c.reason)
			}
		})
	}
}

func TestResolveTable(t *testing.T) {
	tab := testTable(t)
	mods := map[string]string{grpcMod: "v1.64.0", "example.com/app": ""}
	got, origins, err := Resolve(Target{Modules: mods, GoVersion: "go1.26.8", Arch: "arm64", Table: tab}, []Field{fMethod, fGoid})
	if got[fMethod] != 88 || origins[0].Source != Inferred || origins[0].Module != grpcMod {
		t.Fatalf("method: %v %v", got, origins[0])
	}
	if _, ok := got[fGoid]; ok || origins[1].Source != Missing || origins[1].Version != "go1.26" {
		t.Fatalf("goid on arm64 go1.26 must be refused: %v %v", got, origins[1])
	}
	var miss *MissingError
	if !errors.As(err, &miss) || len(miss.Fields) != 1 || miss.Fields[0] != fGoid {
		t.Fatalf("err = %v", err)
	}
	if s := origins[1].String(); !strings.Contains(s, "runtime.g.goid: missing (std go1.26: not in the table; the layout changes between go1.23 and go1.27)") {
		t.Fatalf("origin message: %s", s)
	}
}

func TestModuleOf(t *testing.T) {
	mods := map[string]string{"google.golang.org/grpc": "v1.60.0", "google.golang.org/genproto/googleapis/rpc": "v0.0.1", "golang.org/x/net": "v0.30.0"}
	for s, want := range map[string]string{
		"google.golang.org/grpc/internal/transport.Stream":        "google.golang.org/grpc",
		"google.golang.org/genproto/googleapis/rpc/status.Status": "google.golang.org/genproto/googleapis/rpc",
		"golang.org/x/net/http2.serverConn":                       "golang.org/x/net",
		"net/http.Request":                                        Std,
		"internal/runtime/maps.Map":                               Std,
		"runtime.g":                                               Std,
	} {
		if got, ok := ModuleOf(s, mods); !ok || got != want {
			t.Errorf("ModuleOf(%s) = %s, %v; want %s", s, got, ok, want)
		}
	}
	if _, ok := ModuleOf("github.com/segmentio/kafka-go.Message", mods); ok {
		t.Error("a module the binary lacks was found")
	}
}

func TestCanonical(t *testing.T) {
	for in, want := range map[string]string{"go1.22.12": "go1.22", "go1.24rc1": "go1.24", "go1.27.3 X:foo": "go1.27", "devel": ""} {
		if got := Canonical(Std, in); got != want {
			t.Errorf("Canonical(%q) = %q, want %q", in, got, want)
		}
	}
}
