package selftest

import (
	"debug/elf"
	"errors"
	"os"
	"reflect"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// probed is the function the uprobes attach to: its argument points to
// the variable that the write_user program sets.
//
//go:noinline
func probed(p *uint64) { runtime.KeepAlive(p) }

// probedOffset returns probed's offset in the executable file, which is
// what uprobes attach to. It works without a symbol table: `go test` links
// with -s unless -c is given.
func probedOffset(t *testing.T, exe string) uint64 {
	t.Helper()
	pc := uint64(reflect.ValueOf(probed).Pointer())
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatalf("opening %s: %v", exe, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		t.Fatalf("%s is %v: the test computes file offsets of non-PIE executables only", exe, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && pc >= p.Vaddr && pc < p.Vaddr+p.Filesz {
			return pc - p.Vaddr + p.Off
		}
	}
	t.Fatalf("address %#x of probed is in no executable segment of %s", pc, exe)
	return 0
}

// setup requires root (testenv.RequireRoot), lifts the memlock limit (kernels before 5.11
// charge BPF memory to it), opens this test binary for uprobes and returns
// probed's offset in it.
func setup(t *testing.T) (*link.Executable, uint64) {
	t.Helper()
	testenv.RequireRoot(t)
	if err := rlimit.RemoveMemlock(); err != nil {
		t.Fatalf("removing memlock limit: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ex, err := link.OpenExecutable(self)
	if err != nil {
		t.Fatalf("opening %s: %v", self, err)
	}
	return ex, probedOffset(t, self)
}

// TestUprobe attaches a counting program to probed through each attach
// method and checks it ran once per call.
func TestUprobe(t *testing.T) {
	ex, off := setup(t)

	attachers := []struct {
		name   string
		attach ebpf.AttachType
		link   func(*ebpf.Program) (link.Link, error)
	}{
		{"perf_event", ebpf.AttachNone, func(p *ebpf.Program) (link.Link, error) {
			return ex.Uprobe("", p, &link.UprobeOptions{Address: off, PID: os.Getpid()})
		}},
		{"uprobe_multi", ebpf.AttachTraceUprobeMulti, func(p *ebpf.Program) (link.Link, error) {
			return ex.UprobeMulti(nil, p, &link.UprobeMultiOptions{Addresses: []uint64{off}, PID: uint32(os.Getpid())})
		}},
	}
	for _, a := range attachers {
		t.Run(a.name, func(t *testing.T) {
			if a.attach == ebpf.AttachTraceUprobeMulti {
				// The link call itself reports EINVAL on kernels without
				// uprobe_multi; the feature probe tells them apart.
				if err := features.HaveBPFLinkUprobeMulti(); errors.Is(err, ebpf.ErrNotSupported) {
					skipNoMulti(t, err)
				} else if err != nil {
					t.Fatalf("probing for uprobe_multi: %v", err)
				}
			}
			counts, err := newArray("counts")
			if err != nil {
				t.Fatalf("creating map: %v", err)
			}
			defer counts.Close()
			prog, err := ebpf.NewProgram(counterSpec(counts, a.attach))
			if err != nil {
				t.Fatalf("loading program: %v", err)
			}
			defer prog.Close()
			l, err := a.link(prog)
			if err != nil {
				t.Fatalf("attaching: %v", err)
			}
			defer l.Close()

			var v uint64
			const calls = 3
			for range calls {
				probed(&v)
			}
			var got uint64
			if err := counts.Lookup(uint32(0), &got); err != nil {
				t.Fatalf("reading count: %v", err)
			}
			if got != calls {
				t.Fatalf("program ran %d times, want %d", got, calls)
			}
		})
	}
}

// skipNoMulti skips a uprobe_multi test on kernels before 6.6, which lack
// it, and fails it on newer ones.
func skipNoMulti(t *testing.T, err error) {
	t.Helper()
	major, minor, verr := kernelVersion()
	if verr != nil {
		t.Fatal(verr)
	}
	if major > 6 || major == 6 && minor >= 6 {
		t.Fatalf("uprobe_multi unsupported on kernel %d.%d (6.6+ has it): %v", major, minor, err)
	}
	t.Skipf("kernel %d.%d has no uprobe_multi (needs 6.6): %v", major, minor, err)
}

// written is the variable the write_user program sets; a global, so the
// test reads it from memory after the call.
var written uint64

// TestProbeWriteUser checks that a uprobe program can write into this
// process with bpf_probe_write_user. Kernels in lockdown refuse the helper:
// the test skips there, and fails inside the test VM, which has no lockdown.
func TestProbeWriteUser(t *testing.T) {
	ex, off := setup(t)
	rets, err := newArray("rets")
	if err != nil {
		t.Fatalf("creating map: %v", err)
	}
	defer rets.Close()
	const magic = 0x50a1de0fc0ffee
	prog, err := ebpf.NewProgram(writeUserSpec(rets, magic))
	if err != nil {
		mode := lockdownMode()
		testenv.RequireInVM(t, mode == "none", "bpf_probe_write_user refused: lockdown %q: %v", mode, err)
		t.Fatalf("loading program (lockdown none): %+v", err)
	}
	defer prog.Close()
	l, err := ex.Uprobe("", prog, &link.UprobeOptions{Address: off, PID: os.Getpid()})
	if err != nil {
		t.Fatalf("attaching: %v", err)
	}
	defer l.Close()

	// Fault the page in first: the helper cannot take page faults.
	atomic.StoreUint64(&written, 1)
	probed(&written)
	got := atomic.LoadUint64(&written)

	var ret int64
	if err := rets.Lookup(uint32(0), &ret); err != nil {
		t.Fatalf("reading helper return value: %v", err)
	}
	if ret != 0 {
		t.Fatalf("bpf_probe_write_user returned %d", ret)
	}
	if got != magic {
		t.Fatalf("variable = %#x after the probe, want %#x", got, uint64(magic))
	}
	t.Logf("bpf_probe_write_user set the variable to %#x (lockdown %s)", got, lockdownMode())
}
