package probe

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/binary"
)

// siteHot is what the site benchmark probes: a function with a frame and
// a result its caller tests.
//
//go:noinline
func siteHot(i int) (int, error) {
	if i < 0 {
		return 0, errors.New("negative")
	}
	return i*3 + 1, nil
}

var siteSink int

// siteLoop is siteHot's only caller.
//
//go:noinline
func siteLoop(n int) {
	for i := range n {
		v, err := siteHot(i)
		if err != nil {
			return
		}
		siteSink += v
	}
}

// BenchmarkSiteKinds measures one uprobe hit on each kind of site, an
// empty program attached to siteHot's first byte, its push, its ret and
// its call site in siteLoop: ns/op is the call with the trap (run as
// root, under the CPU lock, with nothing else running).
//
//	go test -run '^$' -bench SiteKinds ./internal/probe
func BenchmarkSiteKinds(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: attaches uprobes to the test binary")
	}
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	bin, err := binary.Open(exe)
	if err != nil {
		b.Fatal(err)
	}
	defer bin.Close()
	fn, err := bin.Func("github.com/sonde-go/auto/internal/probe.siteHot")
	if err != nil {
		b.Fatal(err)
	}
	entry := bin.EntryPlacement(fn, false)
	calls, err := bin.ReturnPlacement(fn, binary.ReturnOptions{})
	if err != nil {
		b.Fatal(err)
	}
	rets, _ := bin.ReturnPlacement(fn, binary.ReturnOptions{Classic: true})
	if entry.Kind != binary.SitePush || calls.Kind != binary.SiteCall || calls.Emulated() != 1 {
		b.Fatalf("entry %v (%s), returns %v (%s): want a push and one emulated call site", entry.Kind, entry.Why, calls.Kind, calls.Why)
	}
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}})
	if err != nil {
		b.Fatal(err)
	}
	defer prog.Close()
	ex, err := link.OpenExecutable(exe)
	if err != nil {
		b.Fatal(err)
	}
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Fatal(err)
	}
	defer stats.Close()
	b.Run("none", func(b *testing.B) { siteLoop(b.N) })
	for _, c := range []struct {
		name  string
		sites []binary.Site
	}{
		{"first-byte", []binary.Site{{Offset: fn.Offset}}},
		{"push", entry.Sites},
		{"ret", rets.Sites},
		{"call-site", calls.Sites},
	} {
		b.Run(c.name, func(b *testing.B) {
			for _, s := range c.sites {
				l, err := ex.Uprobe("", prog, &link.UprobeOptions{Address: s.Offset, PID: os.Getpid()})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
			}
			before, err := prog.Stats()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			siteLoop(b.N)
			b.StopTimer()
			after, _ := prog.Stats()
			b.ReportMetric(float64(after.RunCount-before.RunCount)/float64(b.N), "hits/op")
		})
	}
}
