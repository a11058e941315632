package probe

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sonde-go/auto/internal/binary"
)

// attach attaches every hook of p at the sites placed for it: one
// uprobe_multi link per program and hook where the kernel has them, else
// one perf-event uprobe per address. A call site whose caller has moved
// results to its frame gets its attach cookie (retCookie).
func (m *Manager) attach(places []HookPlacement, coll *ebpf.Collection) (links []link.Link, sites int, multi bool, err error) {
	multi = m.t.Facts.UprobeMulti == nil
	for _, hp := range places {
		for _, site := range []struct {
			prog string
			pl   *binary.Placement
		}{{hp.EntryProg, hp.Entry}, {hp.ReturnProg, hp.Return}} {
			if site.pl == nil {
				continue
			}
			prog := coll.Programs[site.prog]
			if prog == nil {
				return links, sites, multi, fmt.Errorf("program %s not in spec", site.prog)
			}
			addrs := make([]uint64, len(site.pl.Sites))
			var cookies []uint64
			for i, s := range site.pl.Sites {
				addrs[i] = s.Offset
				if c := retCookie(s); c != 0 {
					if cookies == nil {
						cookies = make([]uint64, len(site.pl.Sites))
					}
					cookies[i] = c
				}
			}
			ls, aerr := m.attachProg(prog, addrs, cookies, multi)
			links = append(links, ls...)
			if aerr != nil {
				return links, sites, multi, fmt.Errorf("attaching %s to %s (%s): %w", site.prog, hp.Symbol, site.pl.Kind, aerr)
			}
			sites += len(addrs)
		}
	}
	return links, sites, multi, nil
}

// attachProg attaches prog at addrs; cookies, when not nil, are those of
// each address.
func (m *Manager) attachProg(prog *ebpf.Program, addrs, cookies []uint64, multi bool) ([]link.Link, error) {
	if multi {
		l, err := m.exe.UprobeMulti(nil, prog, &link.UprobeMultiOptions{Addresses: addrs, Cookies: cookies, PID: uint32(m.t.PID)})
		if err == nil {
			return []link.Link{l}, nil
		}
		if !errors.Is(err, link.ErrNotSupported) {
			return nil, err
		}
	}
	var out []link.Link
	for i, a := range addrs {
		opt := &link.UprobeOptions{Address: a, PID: m.t.PID}
		if cookies != nil {
			opt.Cookie = cookies[i]
		}
		l, err := m.exe.Uprobe("", prog, opt)
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}
