package probe_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/databasesql"
	"github.com/sonde-go/auto/probes/nethttp"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// manager prepares to load into the linkall fixture (every probed
// library linked), not running, on a kernel that allows everything.
func manager(t *testing.T) *probe.Manager {
	t.Helper()
	path := testenv.Build(t, "testdata/linkall")
	bin, err := binary.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	d, err := bin.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	m, err := probe.NewManager(&probe.Target{Exe: path, Bin: bin, DWARF: d, Facts: &kernel.Facts{}, Settings: probe.Settings{}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// changed is the net/http server probe with parts replaced.
type changed struct {
	nethttp.Server
	library  string
	decoders map[string]pipeline.Decoder
	extraVar *probe.Var
	hooks    []probe.Hook
}

func (c changed) Hooks() []probe.Hook {
	if c.hooks != nil {
		return c.hooks
	}
	return c.Server.Hooks()
}

func (c changed) Library() string {
	if c.library != "" {
		return c.library
	}
	return c.Server.Library()
}

func (c changed) Decoders(t *probe.Target) map[string]pipeline.Decoder {
	if c.decoders != nil {
		return c.decoders
	}
	return c.Server.Decoders(t)
}

func (c changed) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	vars, err := c.Server.Vars(t, o)
	if c.extraVar != nil {
		vars = append(vars, *c.extraVar)
	}
	return vars, err
}

func TestCheckNumbersEvents(t *testing.T) {
	m := manager(t)
	sts := m.Check([]probe.Probe{nethttp.Server{}, nethttp.Client{}, databasesql.Probe{}, nethttp.Server{}})
	seen := map[uint32]bool{}
	for _, st := range sts {
		if st.Err != nil {
			t.Fatalf("%s: %v", st.Probe, st.Err)
		}
		if len(st.Events) == 0 {
			t.Errorf("%s: no events", st.Probe)
		}
		for name, k := range st.Events {
			if k == 0 || seen[k] {
				t.Errorf("%s: event %s kind %d: zero or given twice", st.Probe, name, k)
			}
			seen[k] = true
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	dec := nethttp.Server{}.Decoders(nil)["http_server"]
	for _, c := range []struct {
		name string
		p    changed
		want string
		is   error
	}{
		{"not linked", changed{library: "example.com/none"}, "", probe.ErrNotLinked},
		// A std probe whose functions are all absent: its package is not
		// linked, which is not a failure.
		{"package not linked", changed{hooks: []probe.Hook{{Symbol: "net/smtp.(*Client).Hello", Entry: "server_entry"}, {Symbol: "net/smtp.Dial", Optional: true}}},
			"none of its 2 functions (net/smtp.(*Client).Hello, ...) in the binary", probe.ErrNotLinked},
		// The first required function missing, others present: that part
		// of the library is not linked.
		{"first function missing", changed{hooks: append([]probe.Hook{{Symbol: "net/http.noSuchClient", Entry: "server_entry"}}, nethttp.Server{}.Hooks()...)},
			"net/http.noSuchClient not in the binary", probe.ErrNotLinked},
		// Another required function missing: a failure that names the
		// function once.
		{"function missing", changed{hooks: append(nethttp.Server{}.Hooks(), probe.Hook{Symbol: "net/http.noSuchFunc", Entry: "server_entry"})},
			"net/http.noSuchFunc: function not found", binary.ErrNoFunc},
		{"unknown variable", changed{extraVar: &probe.Var{Name: "req_no_such_off", Value: uint64(1)}}, "req_no_such_off", probe.ErrUnknownVar},
		{"event without decoder", changed{decoders: map[string]pipeline.Decoder{}}, "event http_server: no decoder", nil},
		{"decoder without event", changed{decoders: map[string]pipeline.Decoder{"http_server": dec, "http_other": dec}}, "decoder http_other", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := manager(t).Check([]probe.Probe{c.p})[0]
			if st.Err == nil {
				t.Fatal("no error")
			}
			if c.is != nil && !errors.Is(st.Err, c.is) {
				t.Errorf("error %v, want %v", st.Err, c.is)
			}
			if !strings.Contains(st.Err.Error(), c.want) {
				t.Errorf("error %q does not say %q", st.Err, c.want)
			}
			if c.is == binary.ErrNoFunc && errors.Is(st.Err, probe.ErrNotLinked) {
				t.Errorf("error %v reads as not linked", st.Err)
			}
			if strings.Count(st.Err.Error(), "net/http.noSuchFunc") > 1 {
				t.Errorf("error %q names the function twice", st.Err)
			}
		})
	}
}

// TestCheckWithoutDWARF: without DWARF, probes say that DWARF is missing
// (or unreadable) and which offsets that leaves unknown; a probe whose
// fields are all optional names the ones it needs, never an empty list.
func TestCheckWithoutDWARF(t *testing.T) {
	path := testenv.Build(t, "testdata/linkall")
	bin, err := binary.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	for _, c := range []struct {
		name   string
		reason error
		want   string
	}{
		{"stripped", fmt.Errorf("%s: %w", path, binary.ErrNoDWARF), "struct offsets: no DWARF in the binary (built with -ldflags=-w?); the versioned offsets table has no "},
		{"corrupted", errors.New("reading DWARF: flate: corrupt input"), "struct offsets: DWARF unreadable (reading DWARF: flate: corrupt input); the versioned offsets table has no "},
	} {
		t.Run(c.name, func(t *testing.T) {
			// An empty table: the version is not covered.
			m, err := probe.NewManager(&probe.Target{Exe: path, Bin: bin, DWARFErr: c.reason, Facts: &kernel.Facts{}, Settings: probe.Settings{}, OffsetsTable: &offsets.VersionTable{}})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range m.Check([]probe.Probe{nethttp.Server{}, databasesql.Probe{}}) {
				msg := fmt.Sprint(st.Err)
				if !strings.HasPrefix(msg, c.want) || strings.HasSuffix(msg, ": ") || strings.Count(msg, "struct offsets") != 1 ||
					!strings.Contains(msg, " for std "+offsets.Canonical(offsets.Std, bin.GoVersion())+" (field not in the table)") || !strings.Contains(msg, "offsets not found: ") {
					t.Errorf("%s: %q, want %q, the field, library and version", st.Probe, msg, c.want)
				}
			}
		})
	}
	// With the embedded table, the same binary without DWARF gets every
	// offset from it (its Go version is one the table knows).
	m, err := probe.NewManager(&probe.Target{Exe: path, Bin: bin, DWARFErr: binary.ErrNoDWARF, Facts: &kernel.Facts{}, Settings: probe.Settings{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range m.Check([]probe.Probe{nethttp.Server{}, databasesql.Probe{}}) {
		if st.Err != nil {
			t.Errorf("%s without DWARF, from the table: %v", st.Probe, st.Err)
		}
		for _, o := range st.Offsets {
			if o.Source != offsets.Exact && o.Reason != offsets.NotInVersion && o.Reason != offsets.NotLinked {
				t.Errorf("%s: %v", st.Probe, o)
			}
		}
	}
}

func TestSetVarsShared(t *testing.T) {
	spec, err := nethttp.Server{}.Spec()
	if err != nil {
		t.Fatal(err)
	}
	// A shared variable this probe's C does not include is skipped...
	if err := probe.SetVars(spec, []probe.Var{{Name: "hmap_b_off", Value: uint64(9)}}, nil); err != nil {
		t.Errorf("shared variable: %v", err)
	}
	// ...but one that no shared header declares is an error.
	err = probe.SetVars(spec, []probe.Var{{Name: "hmap_b_offset", Value: uint64(9)}}, nil)
	if !errors.Is(err, probe.ErrUnknownVar) {
		t.Errorf("misspelled shared variable: %v, want ErrUnknownVar", err)
	}
	err = probe.SetVars(spec, nil, []probe.Var{{Name: "req_method_off", Value: uint32(1)}})
	if err == nil || errors.Is(err, probe.ErrUnknownVar) {
		t.Errorf("wrong size: %v, want a size error", err)
	}
}
