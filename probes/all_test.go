package probes_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

const module = "github.com/sonde-go/auto/"

func TestMain(m *testing.M) { testenv.Main(m) }

// contractTarget opens testdata/contract, which links every probed
// library, as a target that is not running, on a kernel that allows
// everything.
func contractTarget(t *testing.T) *probe.Target {
	t.Helper()
	path := testenv.Build(t, "testdata/contract")
	bin, err := binary.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	d, err := bin.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	decls, err := probe.DeclaredSettings(probes.All())
	if err != nil {
		t.Fatal(err)
	}
	// Every switch on: probes that are off by default are checked too.
	settings := probe.DefaultSettings(decls)
	for _, s := range decls {
		if s.Check == nil {
			settings[s.Env] = "true"
		}
	}
	return &probe.Target{Exe: path, Bin: bin, DWARF: d, Facts: &kernel.Facts{}, Settings: settings}
}

// TestContract checks what every probe promises, with no kernel: its hooks
// name programs of its spec, every variable it sets exists (the manager's
// check fails otherwise), its events are numbered uniquely and each has a
// decoder, and it declares kernel-matrix tests that exist.
func TestContract(t *testing.T) {
	all := probes.All()
	tg := contractTarget(t)
	mgr, err := probe.NewManager(tg)
	if err != nil {
		t.Fatal(err)
	}
	statuses := mgr.Check(all)
	kinds := map[uint32]string{}
	names := map[string]bool{}
	for i, p := range all {
		st := statuses[i]
		if names[p.Name()] {
			t.Errorf("probe name %q used twice", p.Name())
		}
		names[p.Name()] = true
		t.Run(p.Name(), func(t *testing.T) {
			if st.Err != nil {
				t.Fatalf("does not prepare for a binary that links its library: %v", st.Err)
			}
			spec, err := p.Spec()
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range p.Hooks() {
				for _, prog := range []string{h.Entry, h.Return} {
					if prog != "" && spec.Programs[prog] == nil {
						t.Errorf("hook %s: program %q not in the spec", h.Symbol, prog)
					}
				}
				if h.Entry == "" && h.Return == "" {
					t.Errorf("hook %s attaches nothing", h.Symbol)
				}
			}
			if w, ok := p.(probe.WriteVariant); ok {
				checkWriteVariant(t, spec, w)
			}
			events := probe.EventNames(spec)
			if len(st.Events) != len(events) {
				t.Errorf("events %v, spec declares %v", st.Events, events)
			}
			for name, kind := range st.Events {
				if kind == 0 {
					t.Errorf("event %s: kind 0", name)
				}
				if other, ok := kinds[kind]; ok {
					t.Errorf("event %s: kind %d also given to %s", name, kind, other)
				}
				kinds[kind] = p.Name() + "/" + name
			}
			checkKernelTests(t, p)
		})
	}
}

// checkWriteVariant: the write variant has the programs, maps and
// variables of the plain spec, so that either can be loaded.
func checkWriteVariant(t *testing.T, spec *ebpf.CollectionSpec, w probe.WriteVariant) {
	ws, err := w.WriteSpec()
	if err != nil {
		t.Fatal(err)
	}
	for what, pair := range map[string][2][]string{
		"programs":  {slices.Sorted(maps.Keys(spec.Programs)), slices.Sorted(maps.Keys(ws.Programs))},
		"maps":      {slices.Sorted(maps.Keys(spec.Maps)), slices.Sorted(maps.Keys(ws.Maps))},
		"variables": {slices.Sorted(maps.Keys(spec.Variables)), slices.Sorted(maps.Keys(ws.Variables))},
	} {
		if !slices.Equal(pair[0], pair[1]) {
			t.Errorf("write variant %s %v, plain %v", what, pair[1], pair[0])
		}
	}
}

// checkKernelTests: the probe names at least one kernel-matrix test, each
// a top-level test of its package, and fixtures that exist.
func checkKernelTests(t *testing.T, p probe.Probe) {
	kt := p.KernelTests()
	if len(kt.Tests) == 0 {
		t.Error("no kernel-matrix test declared")
	}
	rel, ok := strings.CutPrefix(probe.PackageOf(p), module)
	if !ok {
		t.Fatalf("package %s outside the module", probe.PackageOf(p))
	}
	dir := filepath.Join("..", rel)
	defined := testFuncs(t, dir)
	for _, name := range kt.Tests {
		if strings.Contains(name, "/") {
			t.Errorf("kernel test %q: name top-level tests only (use Skip for subtests)", name)
		} else if !defined[name] {
			t.Errorf("kernel test %s: no such test in %s", name, dir)
		}
	}
	for name, pkg := range kt.Fixtures {
		if _, err := os.Stat(filepath.Join("..", pkg)); err != nil {
			t.Errorf("fixture %s: %v", name, err)
		}
	}
}

// testFuncs returns the Test functions defined in dir's _test.go files.
func testFuncs(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Recv == nil && strings.HasPrefix(fd.Name.Name, "Test") {
				out[fd.Name.Name] = true
			}
		}
	}
	return out
}
