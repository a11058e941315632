package kernel

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// ErrLockdown marks a feature that kernel lockdown refuses.
var ErrLockdown = errors.New("refused by kernel lockdown")

// vmlinuxBTF is the kernel's own BTF, needed for CO-RE relocations.
const vmlinuxBTF = "/sys/kernel/btf/vmlinux"

// probeWriteUser loads a tiny kprobe program that calls bpf_probe_write_user
// with well-formed arguments; it is never attached.
//
// Measured on Linux 6.18 with lockdown=integrity, as root:
//   - features.HaveProgramHelper(ebpf.Kprobe, asm.FnProbeWriteUser) returns
//     an error that errors.Is ebpf.ErrNotSupported ("FnProbeWriteUser for
//     program type Kprobe not supported"), with no hint of lockdown.
//   - loading a kprobe program (plain, or with AttachTraceUprobeMulti) that
//     calls the helper fails with EINVAL and the verifier log line
//     "program of this type cannot use helper bpf_probe_write_user#36":
//     the kernel hides the helper (security_locked_down(LOCKDOWN_BPF_WRITE_USER))
//     exactly as it does without CAP_SYS_ADMIN, so the reason is inferred
//     from the lockdown mode and the capabilities.
//
// Also checked on Debian's 6.1 kernel under emulation: with lockdown=none
// this probe loads (WriteUser nil) and HaveProgramHelper returns nil; booted
// with lockdown=integrity both refuse it as above.
func probeWriteUser(lockdown string, caps Caps) error {
	spec := &ebpf.ProgramSpec{
		Name:    "sonde_probe_wu",
		Type:    ebpf.Kprobe,
		License: "GPL",
		Instructions: asm.Instructions{
			// u64 zero = 0; bpf_probe_write_user(NULL, &zero, 8); return 0;
			asm.Mov.Imm(asm.R6, 0),
			asm.StoreMem(asm.RFP, -8, asm.R6, asm.DWord),
			asm.Mov.Imm(asm.R1, 0),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -8),
			asm.Mov.Imm(asm.R3, 8),
			asm.FnProbeWriteUser.Call(),
			asm.Mov.Imm(asm.R0, 0),
			asm.Return(),
		},
	}
	prog, err := ebpf.NewProgramWithOptions(spec, ebpf.ProgramOptions{LogLevel: ebpf.LogLevelInstruction})
	if err == nil {
		prog.Close()
		return nil
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		// No BPF privileges at all: the helper needs CAP_SYS_ADMIN anyway.
		return writeUserRefusal(lockdown, caps)
	}
	var verr *ebpf.VerifierError
	if !errors.As(err, &verr) || !helperRefused(verr.Log) {
		return fmt.Errorf("loading bpf_probe_write_user probe: %w", err)
	}
	return writeUserRefusal(lockdown, caps)
}

// writeUserRefusal says why the kernel refused bpf_probe_write_user. The
// message does not name the helper: whoever prints it does.
func writeUserRefusal(lockdown string, caps Caps) error {
	switch {
	case lockedDown(lockdown):
		return notSupported(fmt.Sprintf("%v (mode %s)", ErrLockdown, lockdown), ErrLockdown)
	case !caps.Has(unix.CAP_SYS_ADMIN):
		return notSupported("needs cap_sys_admin")
	case lockdown == LockdownUnknown:
		return notSupported("refused by the kernel (lockdown mode unknown, possibly locked down)")
	default:
		return notSupported("refused by the kernel")
	}
}

// unsupported is a feature the kernel refuses: its message is the reason
// alone, and it matches ebpf.ErrNotSupported and its other causes.
type unsupported struct {
	msg    string
	causes []error
}

func notSupported(msg string, causes ...error) error {
	return &unsupported{msg: msg, causes: append(causes, ebpf.ErrNotSupported)}
}

func (e *unsupported) Error() string   { return e.msg }
func (e *unsupported) Unwrap() []error { return e.causes }

// helperRefused reports whether a verifier log ends with the verifier
// refusing a helper call as unknown or not allowed.
func helperRefused(log []string) bool {
	for _, line := range log[max(len(log)-5, 0):] {
		if strings.Contains(line, "cannot use helper") ||
			strings.Contains(line, "invalid func") ||
			strings.Contains(line, "unknown func") {
			return true
		}
	}
	return false
}

// probeUprobeMulti says whether the kernel has uprobe_multi links. Without
// the privileges to load the probe program (EPERM), the kernel version
// decides (6.6+): the answer is about the kernel, never about Sonde's
// privileges, which Features reports.
func probeUprobeMulti(release string) error {
	return kernelFeature(features.HaveBPFLinkUprobeMulti(), release, 6, 6, "uprobe_multi link")
}

// probeAttachCookie says whether uprobe programs can read an attach
// cookie: the helper appeared with the perf-event links that carry a
// cookie (5.15); uprobe_multi links (6.6) carry them too.
func probeAttachCookie(release string) error {
	return kernelFeature(features.HaveProgramHelper(ebpf.Kprobe, asm.FnGetAttachCookie), release, 5, 15, "bpf_get_attach_cookie")
}

func probeRingBuf(release string) error {
	return kernelFeature(features.HaveMapType(ebpf.RingBuf), release, 5, 8, "ring buffer map")
}

// kernelFeature turns a cilium/ebpf feature probe's result into a fact
// about the kernel: a refusal for lack of privileges (whose message
// suggests raising MEMLOCK, wrongly on 5.11+) is replaced by the version
// the feature appeared in.
func kernelFeature(err error, release string, major, minor int, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES):
		if releaseAtLeast(release, major, minor) {
			return nil
		}
		return notSupported(fmt.Sprintf("%s: kernel %s is older than %d.%d", what, release, major, minor))
	}
	return fmt.Errorf("%s: %w", what, err)
}

// probeBTF checks that the kernel BTF can be opened and starts with the BTF magic.
func probeBTF(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("opening kernel btf: %w", err)
	}
	defer f.Close()
	var magic [2]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		return fmt.Errorf("reading kernel btf: %w", err)
	}
	// 0xeb9f in the machine's byte order.
	if magic != [2]byte{0x9f, 0xeb} && magic != [2]byte{0xeb, 0x9f} {
		return fmt.Errorf("reading kernel btf: bad magic %#x", magic)
	}
	return nil
}
