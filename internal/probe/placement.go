package probe

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/binary"
)

// HookPlacement says where the programs of one hook attach: which kind of
// instruction each uses and why (sonde check prints it).
type HookPlacement struct {
	Symbol string
	// EntryProg and ReturnProg are the hook's program names ("" for none).
	EntryProg, ReturnProg string
	// Entry and Return are nil where the hook has no such program.
	Entry, Return *binary.Placement
}

// emulation says what this kernel's uprobe code emulates beyond what every
// supported kernel does: multi-byte x86 nops from Linux 6.16.
func (m *Manager) emulation() binary.Emulation {
	if m.t.Facts == nil {
		return binary.Emulation{}
	}
	return binary.Emulation{NOPL: releaseAtLeast(m.t.Facts.Release, 6, 16)}
}

// releaseAtLeast reports whether a uname release such as "6.18.0-1-amd64"
// is major.minor or later.
func releaseAtLeast(release string, major, minor int) bool {
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		return false
	}
	maj, err1 := strconv.Atoi(parts[0])
	mnr, err2 := strconv.Atoi(strings.TrimLeftFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if err1 != nil || err2 != nil {
		return false
	}
	return maj > major || maj == major && mnr >= minor
}

// prepareReturns lets the binary find the callers of every hooked
// function with a return program of probes in one pass over the code.
func (m *Manager) prepareReturns(probes []Probe) {
	if m.t.ClassicSites {
		return
	}
	var fns []binary.Func
	for _, p := range probes {
		for _, h := range p.Hooks() {
			if h.Return == "" {
				continue
			}
			if fn, err := m.t.Bin.Func(h.Symbol); err == nil {
				fns = append(fns, fn)
			}
		}
	}
	m.t.Bin.PrepareReturns(fns)
}

// placements chooses the sites of every hook of p that the target has
// (binary.File.EntryPlacement, ReturnPlacement); spec tells which return
// programs read the stack pointer.
func (m *Manager) placements(p Probe, spec *ebpf.CollectionSpec) ([]HookPlacement, error) {
	var out []HookPlacement
	for _, h := range p.Hooks() {
		fn, err := m.t.Bin.Func(h.Symbol)
		if err != nil {
			if h.Optional && errors.Is(err, binary.ErrNoFunc) {
				continue
			}
			return nil, fmt.Errorf("function %s: %w", h.Symbol, err)
		}
		hp := HookPlacement{Symbol: h.Symbol, EntryProg: h.Entry, ReturnProg: h.Return}
		if h.Entry != "" {
			e := m.t.Bin.EntryPlacement(fn, m.t.ClassicSites)
			hp.Entry = &e
		}
		if h.Store != nil && !m.t.ClassicSites {
			if st, ok := m.storePlacement(fn, h.Store, spec); ok {
				hp.ReturnProg, hp.Return = h.Store.Prog, &st
				out = append(out, hp)
				continue
			}
		}
		if h.Return != "" {
			ps := spec.Programs[h.Return]
			if ps == nil {
				return nil, fmt.Errorf("program %s not in spec", h.Return)
			}
			r, err := m.t.Bin.ReturnPlacement(fn, binary.ReturnOptions{
				Emulation:   m.emulation(),
				ReadsSP:     readsSP(ps, m.t.Bin.Arch()),
				GOnly:       readsOnlyG(ps, m.t.Bin.Arch()),
				Classic:     m.t.ClassicSites,
				MethodTable: h.MethodTable,
			})
			if err != nil {
				return nil, err
			}
			hp.Return = &r
		}
		out = append(out, hp)
	}
	return out, nil
}

// storePlacement places h's program inside fn (binary.File.StorePlacement)
// and sets its register variable in spec; ok is false where the code does
// not allow it (logged, the hook's Return is used).
func (m *Manager) storePlacement(fn binary.Func, h *StoreHook, spec *ebpf.CollectionSpec) (binary.Placement, bool) {
	off, ok := m.offs[h.Field]
	if !ok {
		return binary.Placement{}, false
	}
	p, arg, why := m.t.Bin.StorePlacement(fn, int64(off), m.emulation())
	if why == "" && spec.Programs[h.Prog] == nil {
		why = "program " + h.Prog + " not in spec"
	}
	if why == "" {
		if v := spec.Variables[h.ArgVar]; v == nil {
			why = "variable " + h.ArgVar + " not in spec"
		} else if err := v.Set(uint64(arg)); err != nil {
			why = err.Error()
		}
	}
	if why != "" {
		m.t.Logger.V(1).Info("store site not used", "function", fn.Name, "field", h.Field.String(), "why", why)
		return binary.Placement{}, false
	}
	return p, true
}
