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

// fixtureTarget opens a fixture program (built, not running) as a target
// on a kernel that allows everything, with every boolean setting on, so
// that probes that are off by default are checked too.
func fixtureTarget(t *testing.T, dir string) *probe.Target {
	t.Helper()
	path := testenv.Build(t, dir)
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
	settings := probe.DefaultSettings(decls)
	for _, s := range decls {
		if s.Check == nil {
			settings[s.Env] = "true"
		}
	}
	// A kernel that allows everything, to an agent with every capability.
	return &probe.Target{Exe: path, Bin: bin, DWARF: d, Facts: &kernel.Facts{Caps: kernel.Caps{Effective: ^uint64(0)}}, Settings: settings}
}

// TestContract checks what every probe promises, with no kernel: its hooks
// name programs of its spec, every variable it sets exists (the manager's
// check fails otherwise), its events are numbered uniquely and each has a
// decoder, it declares kernel-matrix tests that exist, and one of the
// fixtures of those tests links its library: the probe prepares for it.
func TestContract(t *testing.T) {
	names := map[string]bool{}
	for _, p := range probes.All() {
		if names[p.Name()] {
			t.Errorf("probe name %q used twice", p.Name())
		}
		names[p.Name()] = true
		t.Run(p.Name(), func(t *testing.T) {
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
			checkKernelTests(t, p)
			checkPrepares(t, p, probe.EventNames(spec))
		})
	}
}

// checkPrepares: the probe prepares for one of its kernel tests' fixtures,
// with its events numbered.
func checkPrepares(t *testing.T, p probe.Probe, events []string) {
	var why []string
	fixtures := p.KernelTests().Fixtures
	for _, name := range slices.Sorted(maps.Keys(fixtures)) {
		tgt := fixtureTarget(t, filepath.Join("..", fixtures[name]))
		maps.Copy(tgt.Settings, p.KernelTests().Settings)
		mgr, err := probe.NewManager(tgt)
		if err != nil {
			t.Fatal(err)
		}
		st := mgr.Check([]probe.Probe{p})[0]
		if st.Err != nil {
			why = append(why, name+": "+st.Err.Error())
			continue
		}
		if len(st.Events) != len(events) {
			t.Errorf("events %v, spec declares %v", st.Events, events)
		}
		seen := map[uint32]bool{}
		for ev, kind := range st.Events {
			if kind == 0 || seen[kind] {
				t.Errorf("event %s: kind %d zero or given twice", ev, kind)
			}
			seen[kind] = true
		}
		return
	}
	t.Errorf("prepares for none of its kernel tests' fixtures: %s", strings.Join(why, "; "))
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
