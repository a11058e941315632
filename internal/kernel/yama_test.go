package kernel

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// idleEnv makes TestCapsIdle wait for its stdin to close: a process of uid
// 65534, neither ancestor nor descendant of the measuring child, for
// TestYamaPtraceScope.
const idleEnv = "SONDE_KERNEL_CAPS_IDLE"

// TestCapsIdle is the same-user target of TestYamaPtraceScope.
func TestCapsIdle(t *testing.T) {
	if os.Getenv(idleEnv) == "" {
		t.Skip("run by TestYamaPtraceScope")
	}
	io.Copy(io.Discard, os.Stdin)
}

// yamaScope is Yama's sysctl: 0 classic ptrace permissions, 1 restricted
// to descendants (or CAP_SYS_PTRACE), 2 CAP_SYS_PTRACE only, 3 none (and
// sticky: never set here).
const yamaScope = "/proc/sys/kernel/yama/ptrace_scope"

// TestYamaPtraceScope measures, under each Yama ptrace_scope from 0 to 2,
// what uid 65534 with each capability set can do to a root process (the
// test) and to a process of its own user that is not its descendant (as
// sonde's target is, unless `sonde run` started it): opening /proc/PID/exe
// and reading environ are ptrace read checks, which Yama leaves alone;
// process_vm_readv/writev are attach checks, which need CAP_SYS_PTRACE
// from scope 1 on, even for a process of the same user. The capability
// table (user-write) must say the same.
func TestYamaPtraceScope(t *testing.T) {
	testenv.RequireRoot(t)
	if !vmenv.InVM() {
		t.Skip("sets the system-wide ptrace_scope: runs in the kernel-matrix VM only (make test-kernels)")
	}
	old, err := os.ReadFile(yamaScope)
	testenv.RequireInVM(t, err == nil, "no Yama in this kernel: %v", err)
	if err != nil {
		return
	}
	t.Cleanup(func() {
		if err := os.WriteFile(yamaScope, old, 0o644); err != nil {
			t.Errorf("restoring ptrace_scope %s: %v", strings.TrimSpace(string(old)), err)
		}
	})
	t.Logf("ptrace_scope was %s", strings.TrimSpace(string(old)))
	exe := copyWorldReadable(t)

	idle := exec.Command(exe, "-test.run=^TestCapsIdle$", "-test.count=1")
	idle.Env = append(os.Environ(), idleEnv+"=1")
	idle.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stdin, err := idle.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := idle.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); idle.Wait() })
	testenv.Eventually(t, 10*time.Second, func() error {
		if _, err := writableAddr(idle.Process.Pid); err != nil { // mapped once the Go runtime runs
			return err
		}
		return nil
	})

	sets := []struct {
		name string
		caps []uintptr
	}{
		{"none", nil},
		{"sys_ptrace", []uintptr{unix.CAP_SYS_PTRACE}},
		{"dac_read_search", []uintptr{unix.CAP_DAC_READ_SEARCH}},
		{"dac_read_search+sys_ptrace", []uintptr{unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE}},
	}
	for _, scope := range []int{0, 1, 2} {
		if err := os.WriteFile(yamaScope, []byte{byte('0' + scope), '\n'}, 0o644); err != nil {
			t.Fatalf("setting ptrace_scope %d: %v", scope, err)
		}
		for _, set := range sets {
			ptrace := false
			for _, c := range set.caps {
				ptrace = ptrace || c == unix.CAP_SYS_PTRACE
			}
			dac := len(set.caps) > 0 && set.caps[0] == unix.CAP_DAC_READ_SEARCH
			for _, target := range []struct {
				name string
				pid  int
				same bool
			}{{"root", os.Getpid(), false}, {"same-user", idle.Process.Pid, true}} {
				r := runChildAgainst(t, exe, set.caps, target.pid)
				t.Logf("ptrace_scope=%d %-26s -> %-9s exe %-4s environ %-4s vm_rw %s", scope, set.name, target.name,
					okText(r.Tried["exe"]), okText(r.Tried["environ"]), okText(r.Tried["vm_rw"]))
				// Without Yama's part: the owner or CAP_SYS_PTRACE; environ
				// (mode 0400) also needs the owner or CAP_DAC_READ_SEARCH.
				classic := target.same || ptrace
				want := map[string]bool{
					"exe":     classic,
					"environ": classic && (target.same || dac),
					"vm_rw":   classic && (scope == 0 || ptrace),
				}
				// The capability table, which reads ptrace_scope, agrees.
				if on := r.Features[FeatureUserWrite] == ""; on != (r.Tried["vm_rw"] == "") {
					t.Errorf("ptrace_scope=%d %s against %s: user-write on=%v (%s), but process_vm_readv/writev: %q",
						scope, set.name, target.name, on, r.Features[FeatureUserWrite], r.Tried["vm_rw"])
				}
				for op, ok := range want {
					if got := r.Tried[op] == ""; got != ok {
						t.Errorf("ptrace_scope=%d %s against %s: %s worked=%v (%s), want %v", scope, set.name, target.name, op, got, r.Tried[op], ok)
					}
				}
			}
		}
	}
}

func okText(err string) string {
	if err == "" {
		return "yes"
	}
	return "no"
}
