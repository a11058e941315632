package probes_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// TestOffsetsTableCoversEveryField checks that the embedded versioned
// table (make offsets) loads and has an offset, in some known version, of
// every field a probe or the shared headers declare: a probe that gains a
// field needs `make offsets` for stripped binaries.
func TestOffsetsTableCoversEveryField(t *testing.T) {
	tab, err := offsets.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	fields := probe.CommonFields()
	for _, p := range probes.All() {
		req, opt := p.Fields()
		fields = append(append(fields, req...), opt...)
	}
	for _, f := range fields {
		fr := tab.Fields[f]
		if fr == nil {
			t.Errorf("%s is not in the offsets table: run make offsets", f)
			continue
		}
		found := false
		for _, r := range fr.Runs {
			found = found || r.Offset >= 0
		}
		if !found {
			t.Errorf("%s: no version in the offsets table has it", f)
		}
	}
	for _, arch := range []string{"amd64", "arm64"} {
		for _, v := range []string{"go1.19.8", "go1.21.13", "go1.22.12", "go1.23.5", "go1.26.8", "go1.27.3"} {
			if _, o := tab.Lookup(offsets.Field{Struct: "runtime.g", Name: "goid"}, offsets.Std, v, arch); o.Source != offsets.Exact {
				t.Errorf("runtime.g.goid for %s %s: %v", v, arch, o)
			}
		}
	}
	t.Logf("embedded table: %d bytes, %d fields", offsets.BuiltinSize(), len(tab.Fields))
}
