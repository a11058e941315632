package probe

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
)

// coreMaps are the maps of the shared C headers (internal/bpf): every probe
// that declares one uses the same instance. Beyond these, the probes of one
// Go package share each map that several of them declare by one name (their
// C includes the same header of that package).
var coreMaps = map[string]bool{"events": true, "spans_by_ctx": true, "spans_by_goroutine": true, "counters": true, "goroutine_parents": true, "goroutine_spans": true, "ctx_spans": true}

// eventKindPrefix starts the name of each EVENT_KIND(name) variable.
const eventKindPrefix = "event_kind_"

// ErrUnknownVar reports a variable a probe sets that its spec does not
// declare (a misspelled name would otherwise leave an offset at 0).
var ErrUnknownVar = errors.New("variable not declared in the BPF spec")

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
	// Events are the event kinds the probe was given, by event name.
	Events map[string]uint32
	// Writes is set when the probe's write variant was chosen
	// (WriteVariant): it writes into the target from BPF.
	Writes bool
	// Placements say where each hook's programs attach (or would).
	Placements []HookPlacement
	// Offsets says where each struct offset the probe asked for came
	// from (Check only).
	Offsets []offsets.Origin
}

// Manager loads probes into one target and holds what it loaded.
type Manager struct {
	t *Target
	// shared maps by scope ("" for coreMaps, else the probe's package) and
	// name.
	shared   map[string]map[string]*ebpf.Map
	nextKind uint32 // last event kind number given out
	// spanTypes are the context span types of every probe given to Load
	// or Check (ContextSpans).
	spanTypes []SpanType
	colls     []*ebpf.Collection
	links     []link.Link
	closers   []io.Closer // of Linker probes, closed first
	// counters are the OwnCounters maps of the loaded probes.
	counters []ownCounters
	exe      *link.Executable
	statuses []Status
	origins  []offsets.Origin // of the probe prepared last
	offs     offsets.Table    // of the probe prepared last
	timing   LoadTiming
}

// LoadTiming is where Load spent its time, summed over the probes.
type LoadTiming struct {
	// Prepare: offsets, variables and specs; Place: the probe sites
	// (disassembly); Verify: loading the BPF programs (the kernel's
	// verifier); Attach: the uprobe links and what probes do once
	// attached.
	Prepare, Place, Verify, Attach time.Duration
}

// Timing returns where Load spent its time.
func (m *Manager) Timing() LoadTiming { return m.timing }

// NewManager prepares to load probes into t.
func NewManager(t *Target) (*Manager, error) {
	exe, err := link.OpenExecutable(t.Exe)
	if err != nil {
		return nil, fmt.Errorf("opening executable for uprobes: %w", err)
	}
	return &Manager{t: t, exe: exe, shared: map[string]map[string]*ebpf.Map{}}, nil
}

// Check reports, without loading anything, whether each probe would apply
// to the target and why not.
func (m *Manager) Check(probes []Probe) []Status {
	m.spanTypes = contextSpanTypes(probes)
	m.prepareReturns(probes)
	defer m.t.Bin.ReleaseSites()
	var out []Status
	for _, p := range probes {
		st := Status{Probe: p.Name(), Library: p.Library()}
		var spec *ebpf.CollectionSpec
		spec, st.Events, st.Version, st.Err = m.prepare(p)
		if st.Err == nil {
			st.Placements, st.Err = m.placements(p, spec)
		}
		st.Offsets, m.origins = m.origins, nil
		_, st.Writes = p.(WriteVariant)
		st.Writes = st.Writes && m.writes()
		out = append(out, st)
	}
	return out
}

// Load loads and attaches every probe that applies. A probe that fails is
// reported in Statuses and skipped; Load fails only when none loaded.
func (m *Manager) Load(probes []Probe, pl *pipeline.Pipeline) error {
	m.spanTypes = contextSpanTypes(probes)
	m.prepareReturns(probes)
	defer m.t.Bin.ReleaseSites()
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

// Map returns one of the core shared maps ("events", "counters", ...), or
// nil before a probe is loaded.
func (m *Manager) Map(name string) *ebpf.Map { return m.shared[""][name] }

// mapScope returns the scope a map of p is shared in, or false when it is
// the probe's own.
func mapScope(p Probe, name string) (string, bool) {
	if coreMaps[name] {
		return "", true
	}
	if strings.HasPrefix(name, ".") {
		return "", false // .rodata, .bss: the probe's own globals
	}
	return PackageOf(p), true
}

// prepare checks that p applies to the target and returns its spec with
// every variable set, and the event kinds it was given by name.
func (m *Manager) prepare(p Probe) (*ebpf.CollectionSpec, map[string]uint32, string, error) {
	version, ok := m.t.Bin.Module(p.Library())
	if !ok {
		return nil, nil, "", ErrNotLinked
	}
	spec, vars, err := m.vars(p)
	if err != nil {
		return nil, nil, version, err
	}
	if err := SetVars(spec, vars.common, vars.own); err != nil {
		return nil, nil, version, err
	}
	kinds, err := m.eventKinds(p, spec)
	if err != nil {
		return nil, nil, version, err
	}
	return spec, kinds, version, nil
}

type probeVars struct{ common, own []Var }

// vars computes the variables of p for the target.
func (m *Manager) vars(p Probe) (*ebpf.CollectionSpec, probeVars, error) {
	if err := m.checkHooks(p); err != nil {
		return nil, probeVars{}, err
	}
	required, optional := p.Fields()
	offs, origins, err := m.t.Offsets(append(append(append([]offsets.Field{}, commonFields...), required...), optional...))
	if err != nil {
		return nil, probeVars{}, err
	}
	m.origins, m.offs = origins, offs
	var missing []offsets.Field
	for _, f := range required {
		if _, ok := offs[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, probeVars{}, fmt.Errorf("struct offsets: %s%w", m.t.missingNote(origins, missing), &offsets.MissingError{Fields: missing})
	}
	// The probe's own variables first: it is the one to tell that its
	// library is not linked or that it is off.
	own, err := p.Vars(m.t, offs)
	if err != nil {
		return nil, probeVars{}, m.offsetsError(err)
	}
	common, err := commonVars(m.t, offs, m.spanTypes)
	if err != nil {
		return nil, probeVars{}, m.offsetsError(err)
	}
	spec, err := m.spec(p)
	if err != nil {
		return nil, probeVars{}, fmt.Errorf("loading BPF spec: %w", err)
	}
	return spec, probeVars{common: common, own: own}, nil
}

// checkHooks checks that the functions p hooks are in the binary. None of
// them there, or not the first required one (the function the probe is
// about: the others serve it), means the library or that part of it is not
// linked (ErrNotLinked); another required one missing is a real failure.
func (m *Manager) checkHooks(p Probe) error {
	hooks := p.Hooks()
	found := 0
	var missing []error // of the required hooks, in order; nil when found
	first := -1         // index in missing of the first required hook
	for _, h := range hooks {
		_, err := m.t.Bin.Func(h.Symbol)
		switch {
		case err == nil:
			found++
		case !errors.Is(err, binary.ErrNoFunc):
			return err
		}
		if !h.Optional {
			if first < 0 {
				first = len(missing)
			}
			missing = append(missing, err)
		}
	}
	switch {
	case len(hooks) == 1 && found == 0:
		return fmt.Errorf("%s not in the binary: %w", hooks[0].Symbol, ErrNotLinked)
	case len(hooks) > 1 && found == 0:
		return fmt.Errorf("none of its %d functions (%s, ...) in the binary: %w", len(hooks), hooks[0].Symbol, ErrNotLinked)
	case first >= 0 && missing[first] != nil:
		return fmt.Errorf("%s not in the binary: %w", requiredHook(hooks).Symbol, ErrNotLinked)
	}
	for _, err := range missing {
		if err != nil {
			return err // names the function
		}
	}
	return nil
}

// requiredHook returns the first hook that is not optional.
func requiredHook(hooks []Hook) Hook {
	for _, h := range hooks {
		if !h.Optional {
			return h
		}
	}
	return Hook{}
}

// offsetsError says, for an error of a probe without DWARF, that DWARF is
// what is missing. Not linked and off are not about offsets.
func (m *Manager) offsetsError(err error) error {
	if m.t.DWARF != nil || errors.Is(err, ErrNotLinked) || errors.Is(err, ErrDisabled) {
		return err
	}
	var miss *offsets.MissingError
	if errors.As(err, &miss) {
		// Not a version problem: the offsets could not be looked up.
		return fmt.Errorf("struct offsets: %s%w", m.t.missingNote(m.origins, miss.Fields), miss)
	}
	return err
}

// spec returns the probe's spec for this kernel: its write variant where
// bpf_probe_write_user is allowed.
func (m *Manager) spec(p Probe) (*ebpf.CollectionSpec, error) {
	if w, ok := p.(WriteVariant); ok && m.writes() {
		return w.WriteSpec()
	}
	return p.Spec()
}

// writes reports whether the kernel lets BPF write into the target.
func (m *Manager) writes() bool { return m.t.Facts != nil && m.t.Facts.WriteUser == nil }

// sharedSpec is the spec of every shared header (internal/bpf/types.c).
var sharedSpec = sync.OnceValues(bpf.LoadSonde)

// SetVars sets variables in spec. Each of the shared headers' variables
// (common) must exist in the shared headers and is set where the probe's C
// includes its header; every one of the probe's own must exist in spec.
// A missing one is ErrUnknownVar.
func SetVars(spec *ebpf.CollectionSpec, common, own []Var) error {
	shared, err := sharedSpec()
	if err != nil {
		return fmt.Errorf("loading the shared BPF spec: %w", err)
	}
	for _, v := range common {
		if _, ok := shared.Variables[v.Name]; !ok {
			return fmt.Errorf("setting shared %s: %w", v.Name, ErrUnknownVar)
		}
		if sv, ok := spec.Variables[v.Name]; ok {
			if err := sv.Set(v.Value); err != nil {
				return fmt.Errorf("setting %s: %w", v.Name, err)
			}
		}
	}
	for _, v := range own {
		sv, ok := spec.Variables[v.Name]
		if !ok {
			return fmt.Errorf("setting %s: %w", v.Name, ErrUnknownVar)
		}
		if err := sv.Set(v.Value); err != nil {
			return fmt.Errorf("setting %s: %w", v.Name, err)
		}
	}
	return nil
}

// EventNames returns the event names spec declares with EVENT_KIND, sorted.
func EventNames(spec *ebpf.CollectionSpec) []string {
	var names []string
	for name := range spec.Variables {
		if rest, ok := strings.CutPrefix(name, eventKindPrefix); ok {
			names = append(names, rest)
		}
	}
	slices.Sort(names)
	return names
}

// eventKinds numbers the events of p (unique among all probes of m), sets
// them in spec and checks that p decodes exactly those.
func (m *Manager) eventKinds(p Probe, spec *ebpf.CollectionSpec) (map[string]uint32, error) {
	decoders, annotators := p.Decoders(m.t), annotatorsOf(p, m.t)
	kinds := map[string]uint32{}
	for _, name := range EventNames(spec) {
		if decoders[name] == nil && annotators[name] == nil {
			return nil, fmt.Errorf("event %s: no decoder", name)
		}
		if decoders[name] != nil && annotators[name] != nil {
			return nil, fmt.Errorf("event %s: both a decoder and an annotator", name)
		}
		m.nextKind++
		kinds[name] = m.nextKind
		if err := spec.Variables[eventKindPrefix+name].Set(m.nextKind); err != nil {
			return nil, fmt.Errorf("setting event kind %s: %w", name, err)
		}
	}
	for name := range decoders {
		if _, ok := kinds[name]; !ok {
			return nil, fmt.Errorf("decoder %s: no EVENT_KIND(%s) in the BPF spec", name, name)
		}
	}
	for name := range annotators {
		if _, ok := kinds[name]; !ok {
			return nil, fmt.Errorf("annotator %s: no EVENT_KIND(%s) in the BPF spec", name, name)
		}
	}
	return kinds, nil
}

// annotatorsOf returns p's annotators, if it has any.
func annotatorsOf(p Probe, t *Target) map[string]pipeline.Annotator {
	if a, ok := p.(Annotators); ok {
		return a.Annotators(t)
	}
	return nil
}

// contextSpanTypes collects the context span types of probes, each once.
func contextSpanTypes(probes []Probe) []SpanType {
	var out []SpanType
	for _, p := range probes {
		if c, ok := p.(ContextSpans); ok {
			for _, st := range c.ContextSpanTypes() {
				if !slices.Contains(out, st) {
					out = append(out, st)
				}
			}
		}
	}
	return out
}

func (m *Manager) loadOne(p Probe, pl *pipeline.Pipeline) (st Status) {
	st = Status{Probe: p.Name(), Library: p.Library()}
	t0 := time.Now()
	spec, kinds, version, err := m.prepare(p)
	m.timing.Prepare += time.Since(t0)
	st.Version, st.Events = version, kinds
	_, st.Writes = p.(WriteVariant)
	st.Writes = st.Writes && m.writes()
	if err != nil {
		st.Err = err
		return st
	}
	t0 = time.Now()
	st.Placements, err = m.placements(p, spec)
	m.timing.Place += time.Since(t0)
	if err != nil {
		st.Err = err
		return st
	}
	repl := map[string]*ebpf.Map{}
	for name := range spec.Maps {
		if scope, ok := mapScope(p, name); ok && m.shared[scope][name] != nil {
			repl[name] = m.shared[scope][name]
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
	t0 = time.Now()
	coll, err := ebpf.NewCollectionWithOptions(spec, ebpf.CollectionOptions{MapReplacements: repl})
	m.timing.Verify += time.Since(t0)
	t0 = time.Now()
	defer func() { m.timing.Attach += time.Since(t0) }()
	if err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			m.t.Logger.V(1).Info("verifier log", "probe", p.Name(), "log", fmt.Sprintf("%+v", ve))
		}
		st.Err = fmt.Errorf("loading BPF programs: %w", err)
		return st
	}
	links, sites, multi, err := m.attach(st.Placements, coll)
	if err != nil {
		for _, l := range links {
			l.Close()
		}
		coll.Close()
		st.Err = err
		return st
	}
	for name, mp := range coll.Maps {
		scope, ok := mapScope(p, name)
		if !ok || m.shared[scope][name] != nil {
			continue
		}
		if m.shared[scope] == nil {
			m.shared[scope] = map[string]*ebpf.Map{}
		}
		m.shared[scope][name] = mp
	}
	if lk, ok := p.(Linker); ok {
		c, err := lk.Link(m.t, coll)
		if err != nil {
			for _, l := range links {
				l.Close()
			}
			coll.Close()
			st.Err = err
			return st
		}
		m.closers = append(m.closers, c)
	}
	if oc, ok := p.(OwnCounters); ok && coll.Maps[oc.CounterMap()] != nil {
		m.counters = append(m.counters, ownCounters{coll.Maps[oc.CounterMap()], oc.CounterNames()})
	}
	m.colls = append(m.colls, coll)
	m.links = append(m.links, links...)
	if a, ok := p.(Attacher); ok {
		if err := a.Attached(m.t); err != nil {
			for _, l := range links {
				l.Close()
			}
			coll.Close()
			st.Err = err
			return st
		}
	}
	decoders, annotators := p.Decoders(m.t), annotatorsOf(p, m.t)
	for name, kind := range kinds {
		if d := decoders[name]; d != nil {
			pl.Register(kind, scopeOf(p), d)
		} else {
			pl.RegisterAnnotator(kind, annotators[name])
		}
	}
	st.Loaded, st.Links, st.Sites, st.Multi = true, len(links), sites, multi
	return st
}

// Close detaches every link and unloads every program, in reverse order.
func (m *Manager) Close() error {
	var errs []error
	for i := len(m.closers) - 1; i >= 0; i-- {
		errs = append(errs, m.closers[i].Close())
	}
	m.closers, m.counters = nil, nil
	for i := len(m.links) - 1; i >= 0; i-- {
		errs = append(errs, m.links[i].Close())
	}
	for i := len(m.colls) - 1; i >= 0; i-- {
		m.colls[i].Close()
	}
	m.links, m.colls = nil, nil
	return errors.Join(errs...)
}
