package probe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
)

// Shared map names: every probe's C includes the same definitions and the
// manager makes all probes use one instance of each.
var sharedMaps = []string{"events", "spans_by_ctx", "spans_by_goroutine", "counters", "spans_by_request"}

// Status says what happened to one probe.
type Status struct {
	Probe   string
	Library string
	Version string // library version in the target; "" when not linked
	Loaded  bool
	Err     error // why it was skipped; nil when loaded
	Links   int   // attached links
	Sites   int   // attached addresses (entries + returns)
	Multi   bool  // attached through uprobe_multi links
}

// Manager loads probes into one target and holds what it loaded.
type Manager struct {
	t        *Target
	shared   map[string]*ebpf.Map
	colls    []*ebpf.Collection
	links    []link.Link
	exe      *link.Executable
	statuses []Status
}

// NewManager prepares to load probes into t.
func NewManager(t *Target) (*Manager, error) {
	exe, err := link.OpenExecutable(t.Exe)
	if err != nil {
		return nil, fmt.Errorf("opening executable for uprobes: %w", err)
	}
	return &Manager{t: t, exe: exe, shared: map[string]*ebpf.Map{}}, nil
}

// Check reports, without loading anything, whether each probe would apply
// to the target and why not.
func (m *Manager) Check(probes []Probe) []Status {
	var out []Status
	for _, p := range probes {
		st := Status{Probe: p.Name(), Library: p.Library()}
		_, st.Version, st.Err = m.prepare(p)
		out = append(out, st)
	}
	return out
}

// Load loads and attaches every probe that applies. A probe that fails is
// reported in Statuses and skipped; Load fails only when none loaded.
func (m *Manager) Load(probes []Probe, pl *pipeline.Pipeline) error {
	loaded := 0
	for _, p := range probes {
		st := m.loadOne(p, pl)
		m.statuses = append(m.statuses, st)
		if st.Loaded {
			loaded++
		}
	}
	if loaded == 0 {
		var reasons []string
		for _, st := range m.statuses {
			reasons = append(reasons, fmt.Sprintf("%s: %v", st.Probe, st.Err))
		}
		return fmt.Errorf("no probe could be loaded (%s)", strings.Join(reasons, "; "))
	}
	return nil
}

// Statuses returns what Load did for each probe.
func (m *Manager) Statuses() []Status { return m.statuses }

// Map returns one of the shared maps ("events", "counters", ...), or nil
// before a probe is loaded.
func (m *Manager) Map(name string) *ebpf.Map { return m.shared[name] }

func (m *Manager) prepare(p Probe) (*ebpf.CollectionSpec, string, error) {
	version, ok := m.t.Bin.Module(p.Library())
	if !ok {
		return nil, "", ErrNotLinked
	}
	for _, h := range p.Hooks() {
		if _, err := m.t.Bin.Func(h.Symbol); err != nil && !h.Optional {
			return nil, version, fmt.Errorf("function %s: %w", h.Symbol, err)
		}
	}
	required, optional := p.Fields()
	offs := offsets.Table{}
	if m.t.DWARF == nil {
		return nil, version, fmt.Errorf("struct offsets: no DWARF in the binary (built with -ldflags=-w?): %w",
			&offsets.MissingError{Fields: required})
	}
	all := append(append(append([]offsets.Field{}, commonFields...), required...), optional...)
	found, err := offsets.FromDWARF(m.t.DWARF, all)
	var miss *offsets.MissingError
	if err != nil && !errors.As(err, &miss) {
		return nil, version, fmt.Errorf("reading struct offsets: %w", err)
	}
	for k, v := range found {
		offs[k] = v
	}
	var missing []offsets.Field
	for _, f := range required {
		if _, ok := offs[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, version, fmt.Errorf("struct offsets: %w", &offsets.MissingError{Fields: missing})
	}
	vars, err := commonVars(m.t, offs)
	if err != nil {
		return nil, version, err
	}
	own, err := p.Vars(m.t, offs)
	if err != nil {
		return nil, version, err
	}
	spec, err := p.Spec()
	if err != nil {
		return nil, version, fmt.Errorf("loading BPF spec: %w", err)
	}
	for _, v := range append(vars, own...) {
		sv, ok := spec.Variables[v.Name]
		if !ok {
			continue // this probe's C does not use that shared variable
		}
		if err := sv.Set(v.Value); err != nil {
			return nil, version, fmt.Errorf("setting %s: %w", v.Name, err)
		}
	}
	return spec, version, nil
}

func (m *Manager) loadOne(p Probe, pl *pipeline.Pipeline) (st Status) {
	st = Status{Probe: p.Name(), Library: p.Library()}
	spec, version, err := m.prepare(p)
	st.Version = version
	if err != nil {
		st.Err = err
		return st
	}
	repl := map[string]*ebpf.Map{}
	for _, name := range sharedMaps {
		if mp, ok := m.shared[name]; ok {
			if _, inSpec := spec.Maps[name]; inSpec {
				repl[name] = mp
			}
		}
	}
	if m.t.Facts.UprobeMulti == nil {
		// uprobe_multi links need programs loaded for that attach type;
		// the perf-event fallback takes the plain ones.
		for _, ps := range spec.Programs {
			if ps.Type == ebpf.Kprobe {
				ps.AttachType = ebpf.AttachTraceUprobeMulti
			}
		}
	}
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: repl})
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			m.t.Logger.V(1).Info("verifier log", "probe", p.Name(), "log", fmt.Sprintf("%+v", ve))
		}
		st.Err = fmt.Errorf("loading BPF programs: %w", err)
		return st
	}
	links, sites, multi, err := m.attach(p, coll)
	if err != nil {
		for _, l := range links {
			l.Close()
		}
		coll.Close()
		st.Err = err
		return st
	}
	for _, name := range sharedMaps {
		if _, ok := m.shared[name]; !ok && coll.Maps[name] != nil {
			m.shared[name] = coll.Maps[name]
		}
	}
	m.colls = append(m.colls, coll)
	m.links = append(m.links, links...)
	for kind, d := range p.Decoders(m.t) {
		pl.Register(kind, scopeOf(p), d)
	}
	st.Loaded, st.Links, st.Sites, st.Multi = true, len(links), sites, multi
	return st
}

// Close detaches every link and unloads every program, in reverse order.
func (m *Manager) Close() error {
	var errs []error
	for i := len(m.links) - 1; i >= 0; i-- {
		errs = append(errs, m.links[i].Close())
	}
	for i := len(m.colls) - 1; i >= 0; i-- {
		m.colls[i].Close()
	}
	m.links, m.colls = nil, nil
	return errors.Join(errs...)
}
