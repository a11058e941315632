package vmtest

import (
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/databasesql"
	"github.com/sonde-go/auto/probes/nethttp"
)

func TestProbeBinaries(t *testing.T) {
	bins := probeBinaries([]probe.Probe{nethttp.Server{}, databasesql.Probe{}, nethttp.Client{}})
	if len(bins) != 2 {
		t.Fatalf("%d binaries, want one per package: %+v", len(bins), bins)
	}
	h := bins[0]
	if h.Package != "github.com/sonde-go/auto/probes/nethttp" {
		t.Errorf("package %s", h.Package)
	}
	if want := []string{"TestServerSpans", "TestClientSpansNest"}; !slices.Equal(h.Want, want) {
		t.Errorf("want %v, got %v", want, h.Want)
	}
	args := strings.Join(h.Args, " ")
	if !strings.Contains(args, "-test.run ^(TestServerSpans|TestClientSpansNest)$") || !strings.Contains(args, "-test.short") {
		t.Errorf("args %q", args)
	}
	d := bins[1]
	if args := strings.Join(d.Args, " "); !strings.Contains(args, "-test.skip TestTodoExample/postgresql") || strings.Contains(args, "-test.short") {
		t.Errorf("databasesql args %q", args)
	}
	if d.Builds["todo"] != "./examples/todo" {
		t.Errorf("databasesql fixtures %v", d.Builds)
	}
	if _, err := d.name(); err != nil {
		t.Error(err)
	}
}

func TestWantPassed(t *testing.T) {
	var res Result
	p := newConsoleParser(&res)
	for _, l := range []string{
		"nethttp| --- PASS: TestServerSpans (1.00s)",
		"nethttp|     --- PASS: TestServerSpans/sub (0.10s)",
		"nethttp| --- SKIP: TestClientLoad (0.00s)",
		"SONDE-RESULT name=nethttp exit=0 time=1s",
	} {
		p.line(l)
	}
	if len(res.Binaries) != 1 {
		t.Fatalf("results %+v", res)
	}
	b := res.Binaries[0]
	if !slices.Contains(b.Passed, "TestServerSpans") || !slices.Contains(b.Passed, "TestServerSpans/sub") {
		t.Errorf("passed %v", b.Passed)
	}
	err := res.WantPassed(map[string][]string{"nethttp": {"TestServerSpans", "TestClientLoad"}, "gone": {"TestX"}})
	if !errors.Is(err, ErrNotPassed) || !strings.Contains(err.Error(), "TestClientLoad") || !strings.Contains(err.Error(), "gone: TestX") {
		t.Errorf("WantPassed = %v", err)
	}
	if err := res.WantPassed(map[string][]string{"nethttp": {"TestServerSpans"}}); err != nil {
		t.Errorf("WantPassed = %v", err)
	}
}

func TestSelect(t *testing.T) {
	bins := append([]TestBinary{selftest}, probeBinaries([]probe.Probe{nethttp.Server{}, databasesql.Probe{}, nethttp.Client{}})...)
	got, err := Select(bins, regexp.MustCompile(`^(databasesql/TestDBAppSpans|nethttp/TestClient.*)$`))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Package != bins[1].Package || got[1].Package != bins[2].Package {
		t.Fatalf("selected %+v", got)
	}
	if !slices.Equal(got[0].Want, []string{"TestClientSpansNest"}) || !slices.Equal(got[1].Want, []string{"TestDBAppSpans"}) {
		t.Errorf("want %v and %v", got[0].Want, got[1].Want)
	}
	if args := strings.Join(got[1].Args, " "); !strings.Contains(args, "-test.run ^(TestDBAppSpans)$") || !strings.Contains(args, "-test.skip ") {
		t.Errorf("databasesql args %q", args)
	}
	if args := strings.Join(bins[2].Args, " "); !strings.Contains(args, "TestTodoExample") {
		t.Errorf("Select changed its input: %q", args)
	}
	if got, _ := Select(bins, regexp.MustCompile(`^selftest/`)); len(got) != 1 || got[0].Package != selftest.Package {
		t.Errorf("selftest selected as %+v", got)
	}
	if _, err := Select(bins, regexp.MustCompile(`nothing`)); err == nil {
		t.Error("a selection of no test is no error")
	}
}
