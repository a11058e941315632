package kernel

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// childEnv makes the test binary run TestCapsChild as the measuring child.
const childEnv = "SONDE_KERNEL_CAPS_CHILD"

// childReport is what the unprivileged child measured and what Sonde's
// own facts and feature table say for the same credentials.
type childReport struct {
	UID         int
	CapEff      uint64
	UprobeMulti string // Facts.UprobeMulti, "" for nil
	RingBuf     string
	WriteUser   string
	Memlock     string            // RemoveMemlock's error
	Features    map[string]string // feature -> "" (on or not needed) or its error
	Tried       map[string]string // operation -> "" (worked) or its error
}

//go:noinline
func capsChildTarget(n int) int { return n*3 + 1 }

// TestCapsChild is the child of TestCapabilityTable: it measures what the
// credentials it runs with allow, against the parent (another user).
func TestCapsChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		t.Skip("run by TestCapabilityTable")
	}
	parent, _ := strconv.Atoi(os.Getenv(childEnv))
	f := detect()
	r := childReport{UID: unix.Geteuid(), CapEff: f.Caps.Effective, Features: map[string]string{}, Tried: map[string]string{}}
	r.UprobeMulti, r.RingBuf, r.WriteUser = errText(f.UprobeMulti), errText(f.RingBuf), errText(f.WriteUser)
	r.Memlock = errText(RemoveMemlock())
	for _, st := range f.Features(Target{UID: ProcessUID(parent)}) {
		r.Features[st.Feature] = errText(st.Err)
	}
	r.Tried = tryAll(parent)
	capsChildTarget(1)
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		t.Fatal(err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// tryAll attempts each operation a feature stands for: attaching both
// kinds of uprobe to this binary, and opening, reading and writing the
// parent process.
func tryAll(parent int) map[string]string {
	tried := map[string]string{}
	try := func(name string, fn func() error) { tried[name] = errText(fn()) }
	exe, _ := os.Executable()
	const sym = "github.com/sonde-go/auto/internal/kernel.capsChildTarget"
	insns := asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()}
	// go test links without a symbol table: locate the function through
	// the pclntab, as Sonde does for stripped binaries.
	var off uint64
	if bin, err := binary.Open(exe); err == nil {
		if fn, err := bin.Func(sym); err == nil {
			off = fn.Offset
		}
		bin.Close()
	}
	try("uprobe_multi", func() error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, AttachType: ebpf.AttachTraceUprobeMulti, License: "GPL", Instructions: insns})
		if err != nil {
			return err
		}
		defer prog.Close()
		ex, err := link.OpenExecutable(exe)
		if err != nil {
			return err
		}
		l, err := ex.UprobeMulti(nil, prog, &link.UprobeMultiOptions{Addresses: []uint64{off}})
		if err != nil {
			return err
		}
		return l.Close()
	})
	try("perf_uprobe", func() error {
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Type: ebpf.Kprobe, License: "GPL", Instructions: insns})
		if err != nil {
			return err
		}
		defer prog.Close()
		ex, err := link.OpenExecutable(exe)
		if err != nil {
			return err
		}
		l, err := ex.Uprobe(sym, prog, &link.UprobeOptions{Address: off})
		if err != nil {
			return err
		}
		return l.Close()
	})
	proc := func(name string) string { return fmt.Sprintf("/proc/%d/%s", parent, name) }
	try("exe", func() error {
		f, err := os.Open(proc("exe"))
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.Read(make([]byte, 4))
		return err
	})
	try("environ", func() error {
		b, err := os.ReadFile(proc("environ"))
		if err == nil && len(b) == 0 {
			return errors.New("empty")
		}
		return err
	})
	// A word of the parent's stack-free data: its own copy of this
	// package's variable childEnv's string header is not known to the
	// child, so read and write back the first bytes of a writable mapping.
	try("vm_rw", func() error {
		addr, err := writableAddr(parent)
		if err != nil {
			return err
		}
		buf := make([]byte, 8)
		local := []unix.Iovec{{Base: &buf[0], Len: 8}}
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: 8}}
		if _, err := unix.ProcessVMReadv(parent, local, remote, 0); err != nil {
			return fmt.Errorf("process_vm_readv: %w", err)
		}
		if _, err := unix.ProcessVMWritev(parent, local, remote, 0); err != nil {
			return fmt.Errorf("process_vm_writev: %w", err)
		}
		return nil
	})
	return tried
}

// writableAddr returns the start of the first writable mapping of pid.
func writableAddr(pid int) (uint64, error) {
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(maps), "\n") {
		fs := strings.Fields(l)
		if len(fs) > 1 && strings.HasPrefix(fs[1], "rw") {
			lo, _, _ := strings.Cut(fs[0], "-")
			return strconv.ParseUint(lo, 16, 64)
		}
	}
	return 0, errors.New("no writable mapping")
}

// TestCapabilityTable runs this test binary as uid 65534 with each set of
// capabilities the README's table names, and checks that the feature
// table (Facts.Features) says on exactly when the operation it stands for
// worked, that kernel facts do not change with privileges, and that no
// message suggests raising MEMLOCK on a kernel that does not use it.
func TestCapabilityTable(t *testing.T) {
	testenv.RequireRoot(t)
	exe := copyWorldReadable(t)
	root := detect()
	sets := map[string][]uintptr{
		"none":                         nil,
		"bpf":                          {unix.CAP_BPF},
		"bpf+perfmon":                  {unix.CAP_BPF, unix.CAP_PERFMON},
		"sys_admin":                    {unix.CAP_SYS_ADMIN},
		"bpf+perfmon+sys_ptrace":       {unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE},
		"bpf+perfmon+dac_read_search":  {unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_DAC_READ_SEARCH},
		"bpf+perfmon+sys_ptrace+dac_r": {unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE, unix.CAP_DAC_READ_SEARCH},
	}
	for name, caps := range sets {
		t.Run(name, func(t *testing.T) {
			r := runChild(t, exe, caps)
			t.Logf("uid %d caps %v: tried %v; features %v", r.UID, Caps{Effective: r.CapEff}.Names(), r.Tried, r.Features)
			if r.UID != 65534 {
				t.Fatalf("child ran as uid %d", r.UID)
			}
			// Kernel facts are the kernel's, whoever asks.
			if (r.UprobeMulti == "") != (root.UprobeMulti == nil) || (r.RingBuf == "") != (root.RingBuf == nil) {
				t.Errorf("kernel facts changed with privileges: uprobe_multi %q (root: %v), ringbuf %q (root: %v)", r.UprobeMulti, root.UprobeMulti, r.RingBuf, root.RingBuf)
			}
			for what, msg := range map[string]string{"uprobe_multi": r.UprobeMulti, "write_user": r.WriteUser, "memlock": r.Memlock} {
				if strings.Contains(msg, "MEMLOCK may be too low") && !ChargesMemlock(root.Release) {
					t.Errorf("%s: %q suggests raising MEMLOCK on %s", what, msg, root.Release)
				}
			}
			if r.WriteUser == "" && !Caps(Caps{Effective: r.CapEff}).Has(unix.CAP_SYS_ADMIN) {
				t.Errorf("bpf_probe_write_user allowed without cap_sys_admin")
			}
			// The feature table against the experiment.
			attached := r.Tried["uprobe_multi"] == "" || r.Tried["perf_uprobe"] == ""
			if on := r.Features[FeatureSpans] == ""; on != attached {
				t.Errorf("spans feature on=%v (%s), but uprobe_multi: %q, perf-event: %q", on, r.Features[FeatureSpans], r.Tried["uprobe_multi"], r.Tried["perf_uprobe"])
			}
			if on := r.Features[FeatureOtherUser] == ""; on != (r.Tried["exe"] == "") {
				t.Errorf("other-user on=%v (%s), but opening the parent's /proc/PID/exe: %q", on, r.Features[FeatureOtherUser], r.Tried["exe"])
			}
			if on := r.Features[FeatureUserWrite] == ""; on != (r.Tried["vm_rw"] == "") {
				t.Errorf("user-write on=%v (%s), but process_vm_readv/writev: %q", on, r.Features[FeatureUserWrite], r.Tried["vm_rw"])
			}
			if on := r.Features[FeatureTargetEnv] == ""; on != (r.Tried["environ"] == "") {
				t.Errorf("target-env on=%v (%s), but reading the parent's environ: %q", on, r.Features[FeatureTargetEnv], r.Tried["environ"])
			}
		})
	}
}

// copyWorldReadable copies the test binary where uid 65534 can run it.
func copyWorldReadable(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sonde-caps-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	exe := filepath.Join(dir, "kernel.test")
	dst, err := os.OpenFile(exe, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return exe
}

// runChild runs TestCapsChild as uid 65534 holding exactly caps (ambient,
// so that they survive the exec as effective capabilities).
func runChild(t *testing.T, exe string, caps []uintptr) childReport {
	t.Helper()
	return runChildAgainst(t, exe, caps, os.Getpid())
}

// runChildAgainst is runChild measuring against process pid instead of
// the test.
func runChildAgainst(t *testing.T, exe string, caps []uintptr, pid int) childReport {
	t.Helper()
	cmd := exec.Command(exe, "-test.run=^TestCapsChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(pid))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential:  &syscall.Credential{Uid: 65534, Gid: 65534, NoSetGroups: false},
		AmbientCaps: caps,
	}
	cmd.Dir = filepath.Dir(exe)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("child: %v\n%s\n%s", err, out, ee.Stderr)
		}
		t.Fatalf("child: %v", err)
	}
	line, _, _ := strings.Cut(string(out), "\n")
	var r childReport
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("child output %q: %v", out, err)
	}
	return r
}
