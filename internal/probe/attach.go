package probe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// attach attaches every hook of p: one uprobe_multi link per program where
// the kernel has them, else one perf-event uprobe per address.
func (m *Manager) attach(p Probe, coll *ebpf.Collection) (links []link.Link, sites int, multi bool, err error) {
	multi = m.t.Facts.UprobeMulti == nil
	for _, h := range p.Hooks() {
		fn, ferr := m.t.Bin.Func(h.Symbol)
		if ferr != nil {
			if h.Optional {
				continue
			}
			return links, sites, multi, fmt.Errorf("function %s: %w", h.Symbol, ferr)
		}
		for _, site := range []struct {
			prog  string
			addrs []uint64
		}{{h.Entry, []uint64{fn.Offset}}, {h.Return, fn.Returns}} {
			if site.prog == "" {
				continue
			}
			prog := coll.Programs[site.prog]
			if prog == nil {
				return links, sites, multi, fmt.Errorf("program %s not in spec", site.prog)
			}
			if len(site.addrs) == 0 {
				return links, sites, multi, fmt.Errorf("function %s: no return instruction found", h.Symbol)
			}
			ls, aerr := m.attachProg(prog, site.addrs, multi)
			links = append(links, ls...)
			if aerr != nil {
				return links, sites, multi, fmt.Errorf("attaching %s to %s: %w", site.prog, h.Symbol, aerr)
			}
			sites += len(site.addrs)
		}
	}
	return links, sites, multi, nil
}

func (m *Manager) attachProg(prog *ebpf.Program, addrs []uint64, multi bool) ([]link.Link, error) {
	if multi {
		l, err := m.exe.UprobeMulti(nil, prog, &link.UprobeMultiOptions{Addresses: addrs, PID: uint32(m.t.PID)})
		if err == nil {
			return []link.Link{l}, nil
		}
		if !errors.Is(err, link.ErrNotSupported) {
			return nil, err
		}
	}
	var out []link.Link
	for _, a := range addrs {
		l, err := m.exe.Uprobe("", prog, &link.UprobeOptions{Address: a, PID: m.t.PID})
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}
