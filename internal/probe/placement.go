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
			opt := binary.ReturnOptions{
				Emulation:   m.emulation(),
				ReadsSP:     readsSP(ps, m.t.Bin.Arch()),
				GOnly:       readsOnlyG(ps, m.t.Bin.Arch()),
				Classic:     m.t.ClassicSites,
				MethodTable: h.MethodTable,
			}
			if m.t.Bin.Arch() == "amd64" {
				r := readRegs(ps)
				opt.RegsKnown, opt.Reads = r.direct != allRegs, r.direct|r.retArgs
				if m.cookies(spec) {
					opt.Spill = r.retArgs &^ r.direct
				}
			}
			r, err := m.t.Bin.ReturnPlacement(fn, opt)
			if err != nil {
				return nil, err
			}
			hp.Return = &r
		}
		out = append(out, hp)
	}
	if err := setRetCookies(spec, out); err != nil {
		return nil, err
	}
	return out, nil
}

// allRegs is every general register: what readRegs reports where it
// cannot follow a program's context.
const allRegs = binary.RAX | binary.RCX | binary.RDX | binary.RBX | binary.RBP | binary.RSI | binary.RDI |
	binary.R8 | binary.R9 | binary.R10 | binary.R11 | binary.R12 | binary.R13 | binary.R14 | binary.R15

// retCookiesVar is sonde/retarg.h's switch for reading attach cookies.
const retCookiesVar = "ret_cookies"

// cookies reports whether return programs of spec may find results in a
// caller's stack slot that the attach cookie names: the object has
// ret_arg (sonde/retarg.h) and the kernel gives uprobe programs cookies.
func (m *Manager) cookies(spec *ebpf.CollectionSpec) bool {
	return spec.Variables[retCookiesVar] != nil && m.t.Facts != nil && m.t.Facts.AttachCookie == nil
}

// setRetCookies switches sonde/retarg.h's cookie read on where a site of
// places has a result in a stack slot (only then: it costs a helper call
// a hit).
func setRetCookies(spec *ebpf.CollectionSpec, places []HookPlacement) error {
	for _, hp := range places {
		if hp.Return == nil {
			continue
		}
		for _, s := range hp.Return.Sites {
			if s.Spilled != 0 {
				if err := spec.Variables[retCookiesVar].Set(true); err != nil {
					return fmt.Errorf("setting %s: %w", retCookiesVar, err)
				}
				return nil
			}
		}
	}
	return nil
}

// retCookie is the attach cookie of a return site for sonde/retarg.h:
// byte n-1 is 0 while the nth result is in its register, else off/8+1
// for the stack slot at SP+off that holds it.
func retCookie(s binary.Site) uint64 {
	var c uint64
	for n, r := range binary.ABIRegs[:retArgMax] {
		if off, ok := s.Slot(r); ok {
			c |= uint64(off/8+1) << (8 * n)
		}
	}
	return c
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
