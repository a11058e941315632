package e2etest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// Nobody is the user and group ID the unprivileged tests run Sonde as,
// and same-user targets with it.
const Nobody = 65534

// AsNobody makes cmd run as uid and gid Nobody, with no supplementary
// groups, holding exactly caps (unix.CAP_BPF, ...) as ambient
// capabilities, so that they are effective after the exec.
func AsNobody(cmd *exec.Cmd, caps ...uintptr) {
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: Nobody, Gid: Nobody},
		AmbientCaps: caps,
	}
}

// Sandbox is a directory uid Nobody can search, for copies of the
// executables it runs; it is removed when the test ends.
type Sandbox struct {
	Dir string
}

// NewSandbox creates a Sandbox.
func NewSandbox(t testing.TB) *Sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "sonde-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return &Sandbox{Dir: dir}
}

// Copy copies the executable at src into the sandbox under its base name,
// once, and returns the copy's path.
func (s *Sandbox) Copy(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(s.Dir, filepath.Base(src))
	if _, err := os.Stat(dst); err == nil {
		return dst
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return dst
}

// Writable creates the directory name in the sandbox, owned by uid (0 or
// Nobody), and returns its path.
func (s *Sandbox) Writable(t testing.TB, name string, uid int) string {
	t.Helper()
	dir := filepath.Join(s.Dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	return dir
}

// BuildSonde builds cmd/sonde (testenv.Build; in the kernel-matrix VM the
// fixture named "sonde", which the package's KernelTests must list).
func BuildSonde(t testing.TB) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	return testenv.Build(t, filepath.Join(root, "cmd", "sonde"), testenv.Name("sonde"))
}

// agentTimeout bounds the wait for sonde to attach or to give up (under
// emulation in the kernel-matrix VM, loading takes seconds).
const agentTimeout = 90 * time.Second

// Agent is a running sonde process.
type Agent struct {
	Cmd    *exec.Cmd
	log    capture
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

// StartAgent runs the sonde executable bin as uid Nobody holding exactly
// caps, attached to pid (OTEL_GO_AUTO_TARGET_PID), with env added to the
// test's environment. It is stopped with SIGTERM when the test ends.
func StartAgent(t testing.TB, bin string, pid int, caps []uintptr, env ...string) *Agent {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "OTEL_GO_AUTO_TARGET_PID="+strconv.Itoa(pid))
	cmd.Env = append(cmd.Env, env...)
	AsNobody(cmd, caps...)
	a := &Agent{Cmd: cmd, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &a.log, &a.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() {
		a.err = cmd.Wait()
		close(a.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-a.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("sonde did not stop on SIGTERM\n%s", a.Log())
			cmd.Process.Kill()
			<-a.exited
		}
	})
	return a
}

// Log returns what sonde wrote so far (its first 64 KiB).
func (a *Agent) Log() string { return a.log.String() }

// WaitLoaded waits until sonde has attached its probes (the status lines
// it logs once every probe is loaded) and fails the test when sonde exits
// first.
func (a *Agent) WaitLoaded(t testing.TB) {
	t.Helper()
	deadline := time.After(agentTimeout)
	for !strings.Contains(a.Log(), `msg="probe loaded"`) {
		select {
		case <-a.exited:
			t.Fatalf("sonde exited before loading its probes: %v\n%s", a.err, a.Log())
		case <-deadline:
			t.Fatalf("sonde did not load its probes within %v\n%s", agentTimeout, a.Log())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitExit waits for sonde to exit on its own and returns how it did.
func (a *Agent) WaitExit(t testing.TB) error {
	t.Helper()
	select {
	case <-a.exited:
		return a.err
	case <-time.After(agentTimeout):
		t.Fatalf("sonde still runs after %v\n%s", agentTimeout, a.Log())
		return nil
	}
}

// Features is what the capability table (kernel.Facts.Features) says on
// this kernel for one set of credentials, by feature name.
type Features map[string]kernel.FeatureStatus

// On reports whether the feature works, or does not apply.
func (f Features) On(name string) bool { return f[name].Err == nil }

// FeaturesFor returns the capability table for Sonde as uid Nobody
// holding exactly caps against a target running as targetUID (not Sonde's
// descendant), under Yama's ptraceScope.
func FeaturesFor(caps []uintptr, targetUID, ptraceScope int) Features {
	facts := *kernel.Detect() // the kernel's facts; only the credentials change
	var mask uint64
	for _, c := range caps {
		mask |= 1 << c
	}
	facts.Caps, facts.EUID, facts.PtraceScope = kernel.Caps{Effective: mask}, Nobody, ptraceScope
	f := Features{}
	for _, st := range facts.Features(kernel.Target{UID: targetUID}) {
		f[st.Feature] = st
	}
	return f
}

// Case is one set of credentials RunUnprivileged runs a scenario with.
type Case struct {
	Name string
	// Caps are the capabilities sonde holds as uid Nobody.
	Caps []uintptr
	// RootTarget runs the targets as root; else they run as uid Nobody.
	RootTarget bool
	// PtraceScope, when above 0, is Yama's ptrace_scope during the case.
	PtraceScope int
}

// Cases returns the credentials RunUnprivileged tries on this kernel: the
// documented capabilities for spans (cap_bpf+cap_perfmon, and where the
// capability table says those do not suffice, as without uprobe_multi,
// cap_sys_admin as well, alone), with a target of the same user and, with
// cap_sys_ptrace added, of root; then each with one capability removed:
// cap_perfmon, and cap_sys_ptrace against root. In the kernel-matrix VM,
// whose kernels have Yama, the same-user case again under ptrace_scope 1
// (Ubuntu's default), which refuses writes into the target without
// cap_sys_ptrace; elsewhere the expectations follow the scope in force.
func Cases() []Case {
	scope := kernel.Detect().PtraceScope
	spans := []uintptr{unix.CAP_BPF, unix.CAP_PERFMON}
	cases := []Case{{Name: "same-user:bpf+perfmon", Caps: spans}}
	name := "bpf+perfmon"
	if !FeaturesFor(spans, Nobody, scope).On(kernel.FeatureSpans) {
		spans, name = []uintptr{unix.CAP_SYS_ADMIN}, "sys_admin"
		cases = append(cases, Case{Name: "same-user:sys_admin", Caps: spans})
	}
	cases = append(cases,
		Case{Name: "root-target:" + name + "+sys_ptrace", Caps: slices.Concat(spans, []uintptr{unix.CAP_SYS_PTRACE}), RootTarget: true},
		Case{Name: "same-user:bpf", Caps: []uintptr{unix.CAP_BPF}},
		Case{Name: "root-target:" + name, Caps: spans, RootTarget: true},
	)
	// Only in the VM, which runs one test binary at a time: on a host,
	// the sysctl would change under other packages' tests.
	if _, err := os.Stat(yamaScope); err == nil && scope != 1 && vmenv.InVM() {
		cases = append(cases, Case{Name: "same-user:" + name + ":ptrace_scope=1", Caps: spans, PtraceScope: 1})
	}
	return cases
}

// yamaScope is Yama's ptrace_scope sysctl.
const yamaScope = "/proc/sys/kernel/yama/ptrace_scope"

// setPtraceScope sets Yama's ptrace_scope until the test ends.
func setPtraceScope(t *testing.T, scope int) {
	t.Helper()
	old, err := os.ReadFile(yamaScope)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(yamaScope, []byte(strconv.Itoa(scope)+"\n"), 0o644); err != nil {
		t.Fatalf("setting ptrace_scope %d: %v", scope, err)
	}
	t.Cleanup(func() {
		if err := os.WriteFile(yamaScope, old, 0o644); err != nil {
			t.Errorf("restoring ptrace_scope: %v", err)
		}
	})
}

// Target says how a Scenario starts its targets for one case.
type Target struct {
	// Root is set when the targets run as root; else they run as uid
	// Nobody, like sonde.
	Root    bool
	sandbox *Sandbox
}

// UID is the targets' user ID.
func (tg Target) UID() int {
	if tg.Root {
		return 0
	}
	return Nobody
}

// Start copies the fixture bin into the sandbox and starts it (Start) as
// the targets' user.
func (tg Target) Start(t testing.TB, bin string, env ...string) *Proc {
	t.Helper()
	bin = tg.sandbox.Copy(t, bin)
	if tg.Root {
		return Start(t, bin, env...)
	}
	return StartAsNobody(t, bin, env...)
}

// DataDir creates a directory the targets' user may write.
func (tg Target) DataDir(t testing.TB, name string) string {
	t.Helper()
	return tg.sandbox.Writable(t, name, tg.UID())
}

// Scenario is a program RunUnprivileged instruments.
type Scenario struct {
	// Start starts the target processes; sonde attaches to each.
	Start func(t *testing.T, tg Target) []*Proc
	// Check drives the targets and checks their spans where the
	// capability table (f) says spans work. attach starts one sonde per
	// target, with the test's environment of the moment (t.Setenv), and
	// returns the receiver of their spans once their probes are attached.
	Check func(t *testing.T, procs []*Proc, attach func(t *testing.T) *otlptest.Receiver, f Features)
	// Serves checks that the targets still work after sonde gave up.
	Serves func(t *testing.T, procs []*Proc)
}

// RunUnprivileged runs sc with each of Cases, sonde (cmd/sonde) running as
// uid Nobody, and checks what the capability table says for the case:
// spans (sc.Check) where they work; else sonde reports the feature off,
// naming the missing capability, or, for a root target without
// cap_sys_ptrace, says that is what it lacks; then it exits, nothing is
// exported, and the targets still serve (sc.Serves). Every other feature
// the table switches off is logged as off; none that it leaves on is.
func RunUnprivileged(t *testing.T, sc Scenario) {
	testenv.RequireRoot(t)
	sonde := BuildSonde(t)
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) { runCase(t, sonde, sc, c) })
	}
}

func runCase(t *testing.T, sonde string, sc Scenario, c Case) {
	sb := NewSandbox(t)
	bin := sb.Copy(t, sonde)
	tg := Target{Root: c.RootTarget, sandbox: sb}
	scope := kernel.Detect().PtraceScope
	if c.PtraceScope > 0 {
		setPtraceScope(t, c.PtraceScope)
		scope = c.PtraceScope
	}
	f := FeaturesFor(c.Caps, tg.UID(), scope)
	for _, name := range kernel.FeatureNames {
		t.Logf("capability table: %-10s needs %-35s %v", name, f[name].Needs, f[name].Err)
	}
	procs := sc.Start(t, tg)
	for _, p := range procs {
		if uid := kernel.ProcessUID(p.Cmd.Process.Pid); uid != tg.UID() {
			t.Fatalf("target pid %d runs as uid %d, want %d", p.Cmd.Process.Pid, uid, tg.UID())
		}
	}
	var agents []*Agent
	attach := func(t *testing.T) *otlptest.Receiver {
		t.Helper()
		rcv := otlptest.Start(t)
		var started []*Agent
		for _, p := range procs {
			started = append(started, StartAgent(t, bin, p.Cmd.Process.Pid, c.Caps, rcv.Env()...))
		}
		for _, a := range started {
			a.WaitLoaded(t)
		}
		agents = append(agents, started...)
		return rcv
	}
	switch {
	case tg.Root && !f.On(kernel.FeatureOtherUser):
		for _, p := range procs {
			pid := p.Cmd.Process.Pid
			a := StartAgent(t, bin, pid, c.Caps, "OTEL_TRACES_EXPORTER=none")
			if err := a.WaitExit(t); err == nil {
				t.Errorf("sonde attached to a root process without cap_sys_ptrace:\n%s", a.Log())
			}
			want := fmt.Sprintf("permission denied (pid %d runs as uid 0, sonde as uid %d without cap_sys_ptrace: feature %s needs it)",
				pid, Nobody, kernel.FeatureOtherUser)
			if !strings.Contains(a.Log(), want) {
				t.Errorf("sonde does not say %q:\n%s", want, a.Log())
			}
		}
		sc.Serves(t, procs)
	case !f.On(kernel.FeatureSpans):
		rcv := otlptest.Start(t)
		for _, p := range procs {
			a := StartAgent(t, bin, p.Cmd.Process.Pid, c.Caps, rcv.Env()...)
			err := a.WaitExit(t)
			t.Logf("sonde without %s: %v", strings.Join(f[kernel.FeatureSpans].Missing, "+"), err)
			if err == nil {
				t.Errorf("sonde exited 0 with no probe loaded:\n%s", a.Log())
			}
			checkFeatureLines(t, a.Log(), f)
		}
		sc.Serves(t, procs)
		if n := len(rcv.Spans()); n != 0 {
			t.Errorf("%d spans exported with the spans feature off", n)
		}
	default:
		sc.Check(t, procs, attach, f)
		if len(agents) == 0 {
			t.Fatal("the scenario's Check did not attach sonde")
		}
		for _, a := range agents {
			checkFeatureLines(t, a.Log(), f)
		}
	}
}

// checkFeatureLines checks that sonde logged one "feature off" line for
// each feature the capability table switches off, with the table's
// reason, and none for the others; bpf-write has its own line (Load).
func checkFeatureLines(t *testing.T, log string, f Features) {
	t.Helper()
	for _, name := range kernel.FeatureNames {
		if name == kernel.FeatureBPFWrite {
			continue
		}
		st := f[name]
		prefix := `msg="feature off" feature=` + name + " "
		switch {
		case st.Err != nil && !strings.Contains(log, prefix+"reason="+strconv.Quote(st.Err.Error())):
			t.Errorf("sonde did not report feature %s off with reason %q:\n%s", name, st.Err, log)
		case st.Err == nil && strings.Contains(log, prefix):
			t.Errorf("sonde reported feature %s off; the capability table says it works (needs %s):\n%s", name, st.Needs, log)
		}
	}
	if strings.Contains(log, "MEMLOCK") {
		t.Errorf("sonde suggests raising MEMLOCK:\n%s", log)
	}
}
