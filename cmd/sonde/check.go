package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
	sondeprobes "github.com/sonde-go/auto/probes"
	"github.com/sonde-go/auto/probes/nethttp"
)

// checkReport is everything `sonde check` prints.
type checkReport struct {
	facts   *kernel.Facts
	path    string // executable, as given or as the process sees it
	pid     int    // 0 with --exe
	running []int  // with --exe: processes running it
	// targetUID owns the process (the first running one with --exe);
	// -1 when none runs.
	targetUID int
	bin       binInfo
	libs      []string // libraries the probes care about, in probe order
	statuses  []probe.Status
	// propagation says how outgoing requests carry the trace context;
	// notPropagated what does not carry it.
	propagation, notPropagated string
}

// binInfo is what the report says of the binary.
type binInfo struct {
	goVersion string
	arch      string
	pie       bool
	symtab    bool
	dwarf     bool
	dwarfErr  error // why there is no DWARF
	modules   map[string]string
}

// check is `sonde check`. It exits 0 when at least one probe would attach,
// 1 when none would (the binary unreadable included) and 2 (in main) on a
// usage mistake.
func check(inv invocation, stdout, stderr io.Writer) int {
	log := logr.Discard()
	if inv.verbose {
		log = newLogger(stderr, slog.LevelDebug)
	}
	// The kernel feature probes load small BPF objects: older kernels
	// count them against RLIMIT_MEMLOCK.
	if err := kernel.RemoveMemlock(); err != nil {
		log.V(1).Info("raising memlock limit", "error", err.Error())
	}
	r, err := inspect(inv, log)
	if err != nil {
		fmt.Fprintf(stderr, "sonde check: %v\n", err)
		return exitError
	}
	if err := r.write(stdout); err != nil {
		fmt.Fprintf(stderr, "sonde check: %v\n", err)
		return exitError
	}
	if r.attaching() == 0 {
		return exitNothing
	}
	return exitOK
}

// inspect opens the target and asks the probe manager what would attach.
func inspect(inv invocation, log logr.Logger) (*checkReport, error) {
	r := &checkReport{pid: inv.pid, path: inv.exe}
	var t *probe.Target
	var err error
	if inv.pid != 0 {
		if !process.Alive(inv.pid) {
			return nil, fmt.Errorf("no running process with pid %d", inv.pid)
		}
		if r.path, err = process.ExePath(inv.pid); err != nil {
			return nil, kernel.ExplainAccess(inv.pid, err)
		}
		t, err = probe.NewTarget(inv.pid, log)
		if err != nil {
			return nil, fmt.Errorf("pid %d runs %s: %w", inv.pid, r.path, kernel.ExplainAccess(inv.pid, err))
		}
	} else {
		t, err = exeTarget(inv.exe, log)
		if err != nil {
			return nil, err
		}
		pids, _ := process.FindExe(inv.exe)
		r.running = slices.DeleteFunc(pids, func(pid int) bool { return pid == os.Getpid() })
	}
	defer t.Close()
	r.facts = t.Facts
	r.targetUID = -1
	if pid := inv.pid; pid != 0 || len(r.running) > 0 {
		if pid == 0 {
			pid = r.running[0]
		}
		r.targetUID = kernel.ProcessUID(pid)
	}
	r.bin = binInfo{
		goVersion: t.Bin.GoVersion(),
		arch:      t.Bin.Arch(),
		pie:       t.Bin.PIE(),
		symtab:    t.Bin.HasSymtab(),
		dwarf:     t.DWARF != nil,
		dwarfErr:  t.DWARFErr,
		modules:   t.Bin.Modules(),
	}
	probes := sondeprobes.All()
	for _, p := range probes {
		if !slices.Contains(r.libs, p.Library()) {
			r.libs = append(r.libs, p.Library())
		}
	}
	mgr, err := probe.NewManager(t)
	if err != nil {
		return nil, err
	}
	r.statuses = mgr.Check(probes)
	r.propagation, r.notPropagated = nethttp.PropagationSummary(t)
	return r, nil
}

// exeTarget describes an executable that need not be running. Addresses
// are link-time ones (no load bias), which is all a check needs.
func exeTarget(path string, log logr.Logger) (*probe.Target, error) {
	bin, err := binary.Open(path)
	if err != nil {
		return nil, err
	}
	t := &probe.Target{Exe: path, Bin: bin, Facts: kernel.Detect(), Logger: log}
	t.DWARF, t.DWARFErr = bin.DWARF()
	return t, nil
}

// write prints the report as aligned text.
func (r *checkReport) write(w io.Writer) error {
	var t table
	f := r.facts

	t.section("Kernel")
	t.row("release", f.Release)
	t.row("lockdown", f.Lockdown)
	t.row("bpf_probe_write_user", yesNo(f.WriteUser))
	t.row("uprobe_multi", yesNo(f.UprobeMulti))
	t.row("ring buffer", yesNo(f.RingBuf))
	t.row("BTF", yesNo(f.BTF))

	t.section("Privileges")
	t.row("capabilities", fmt.Sprintf("%d effective", len(f.Caps.Names())))
	t.row("used by sonde", capsText(f.Caps, f.Release))
	multi, perf := attachPrivileges(f)
	t.row("uprobe_multi links", yesNo(multi))
	t.row("perf-event uprobes", yesNo(perf))

	// Each feature, what it needs here, and what its absence switches
	// off (README: Capabilities).
	t.section(fmt.Sprintf("Features (sonde uid %d, %s)", f.EUID, r.targetText()))
	for _, st := range f.Features(kernel.Target{UID: r.targetUID}) {
		t.row(st.Feature, featureVerdict(st))
	}

	t.section("Outgoing trace context (net/http client)")
	t.row("traceparent", r.propagation)
	t.row("not propagated", r.notPropagated)

	t.section("Binary " + r.path)
	switch {
	case r.pid != 0:
		t.row("process", fmt.Sprintf("pid %d", r.pid))
	case len(r.running) > 0:
		t.row("process", "running as pid "+joinInts(r.running))
	default:
		t.row("process", "not running (link-time addresses)")
	}
	t.row("Go", r.bin.goVersion)
	t.row("arch", r.bin.arch)
	t.row("PIE", yes(r.bin.pie))
	t.row("symbol table", yes(r.bin.symtab)+symtabNote(r.bin.symtab))
	t.row("DWARF", yes(r.bin.dwarf)+dwarfNote(r.bin.dwarf, r.bin.dwarfErr))
	shown := 0
	for _, lib := range r.libs {
		switch v, ok := r.bin.modules[lib]; {
		case lib == "std":
			t.row("std", r.bin.goVersion)
		case ok:
			t.row(lib, v)
			shown++
		default:
			t.row(lib, "not linked")
		}
	}
	t.row("other modules", fmt.Sprint(len(r.bin.modules)-shown))

	t.section("Probes")
	for _, st := range r.statuses {
		version := st.Version
		if version == "" {
			version = "-"
		}
		t.row(st.Probe, st.Library+" "+version, probeVerdict(st))
		offsetRows(&t, st.Offsets)
		for _, hp := range st.Placements {
			if hp.Entry != nil {
				t.row("  "+hp.EntryProg, hp.Symbol, placementText(*hp.Entry))
			}
			if hp.Return != nil {
				t.row("  "+hp.ReturnProg, hp.Symbol, placementText(*hp.Return))
			}
		}
	}
	if err := t.write(w); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.summary())
	return err
}

// probesAttaching counts the probes that would attach to the binary.
func (r *checkReport) probesAttaching() int {
	n := 0
	for _, st := range r.statuses {
		if st.Err == nil {
			n++
		}
	}
	return n
}

// runnable says why sonde cannot load probes on this machine, or nil.
func (r *checkReport) runnable() error {
	multi, perf := attachPrivileges(r.facts)
	switch {
	case r.facts.RingBuf != nil:
		return errors.New("sonde cannot run here: BPF ring buffers are not available (kernel 5.8+ needed)")
	case multi != nil && perf != nil:
		return errors.New("sonde cannot attach here: run as root, or with CAP_BPF+CAP_PERFMON (kernel 6.6+) or CAP_SYS_ADMIN")
	}
	return nil
}

// attaching is how many probes would attach here: none when the machine
// does not let sonde run.
func (r *checkReport) attaching() int {
	if r.runnable() != nil {
		return 0
	}
	return r.probesAttaching()
}

// summary is the last line: the overall verdict.
func (r *checkReport) summary() string {
	if err := r.runnable(); err != nil {
		return err.Error()
	}
	n := r.probesAttaching()
	if n == 0 {
		return fmt.Sprintf("0 of %d probes would attach: nothing would be instrumented", len(r.statuses))
	}
	return fmt.Sprintf("%d of %d probes would attach", n, len(r.statuses))
}

// attachPrivileges says whether each attach method is usable: uprobe_multi
// links need kernel support and CAP_BPF+CAP_PERFMON (or CAP_SYS_ADMIN);
// perf-event uprobes need CAP_SYS_ADMIN.
func attachPrivileges(f *kernel.Facts) (multi, perf error) {
	admin := f.Caps.Has(unix.CAP_SYS_ADMIN)
	switch {
	case f.UprobeMulti != nil:
		multi = errors.New("not supported by the kernel")
	case !admin && !(f.Caps.Has(unix.CAP_BPF) && f.Caps.Has(unix.CAP_PERFMON)):
		multi = errors.New("needs CAP_BPF and CAP_PERFMON")
	}
	if !admin {
		perf = errors.New("needs CAP_SYS_ADMIN")
	}
	return multi, perf
}

// targetText says whose process the features are checked for.
func (r *checkReport) targetText() string {
	if r.targetUID < 0 {
		return "target of another user"
	}
	return fmt.Sprintf("target uid %d", r.targetUID)
}

// featureVerdict says whether a feature works, and if not what is missing
// and what that switches off.
func featureVerdict(st kernel.FeatureStatus) string {
	switch {
	case st.Needs == "-":
		return "not needed here"
	case st.Err == nil:
		return "on (" + st.Needs + ")"
	case errors.Is(st.Err, kernel.ErrMissingCaps):
		return "off: missing " + strings.Join(st.Missing, "+") + " (needs " + st.Needs + "); switches off " + st.Off
	}
	return "off: " + st.Err.Error() + "; switches off " + st.Off
}

// probeVerdict says whether a checked probe would attach and why not.
func probeVerdict(st probe.Status) string {
	switch {
	case st.Err == nil:
		return "would attach"
	case errors.Is(st.Err, probe.ErrNotLinked):
		// The probe's own words ("net/http.(*Request).write not in the
		// binary") say which part is missing.
		if why, ok := strings.CutSuffix(st.Err.Error(), ": "+probe.ErrNotLinked.Error()); ok {
			return "not applicable: " + why
		}
		return "not applicable: library not in the binary"
	case errors.Is(st.Err, probe.ErrDisabled):
		return "off: " + st.Err.Error()
	}
	return "would not attach: " + st.Err.Error()
}

// placementText says which kind of instruction a program attaches at,
// how many of its sites the kernel emulates (the cheap kind of probe hit)
// and why that kind.
func placementText(p binary.Placement) string {
	return fmt.Sprintf("%s: %d of %d sites emulated (%s)", p.Kind, p.Emulated(), len(p.Sites), p.Why)
}

// sondeCaps are the capabilities that change what Sonde can do: loading
// BPF and attaching uprobes (bpf, perfmon, sys_admin), reading other users'
// processes (sys_ptrace, dac_read_search), the network path (net_admin),
// raising RLIMIT_MEMLOCK on kernels before 5.11 (sys_resource).
var sondeCaps = []int{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_ADMIN, unix.CAP_SYS_PTRACE, unix.CAP_DAC_READ_SEARCH, unix.CAP_NET_ADMIN, unix.CAP_SYS_RESOURCE}

// capsText lists which of sondeCaps are held and which are missing;
// cap_sys_resource only on kernels that charge BPF memory to
// RLIMIT_MEMLOCK (before 5.11).
func capsText(c kernel.Caps, release string) string {
	var held, missing []string
	for _, n := range sondeCaps {
		if n == unix.CAP_SYS_RESOURCE && !kernel.ChargesMemlock(release) {
			continue
		}
		name := kernel.Caps{Effective: 1 << uint(n)}.Names()[0]
		if c.Has(n) {
			held = append(held, name)
		} else {
			missing = append(missing, name)
		}
	}
	switch {
	case len(missing) == 0:
		return strings.Join(held, ", ")
	case len(held) == 0:
		return "none (missing: " + strings.Join(missing, ", ") + ")"
	}
	return strings.Join(held, ", ") + " (missing: " + strings.Join(missing, ", ") + ")"
}

func symtabNote(has bool) string {
	if has {
		return ""
	}
	return " (stripped: functions found through .gopclntab)"
}

func dwarfNote(has bool, why error) string {
	switch {
	case has:
		return ""
	case why != nil && !errors.Is(why, binary.ErrNoDWARF):
		return fmt.Sprintf(" (unreadable: %v)", errors.Unwrap(why))
	}
	return " (built with -ldflags=-w: struct offsets from the versioned table)"
}

func yesNo(err error) string {
	if err == nil {
		return "yes"
	}
	return "no: " + err.Error()
}

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, ", ")
}
