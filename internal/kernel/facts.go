package kernel

import (
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Facts describes the running kernel and Sonde's privileges in it. A nil
// error field means the feature works; a non-nil one says why not.
type Facts struct {
	Release     string // uname release
	Lockdown    string // LockdownNone, LockdownIntegrity, LockdownConfidentiality or LockdownUnknown
	WriteUser   error  // bpf_probe_write_user can be loaded; mentions lockdown when that is why not
	UprobeMulti error  // uprobe_multi links can be created
	RingBuf     error  // BPF_MAP_TYPE_RINGBUF maps can be created
	BTF         error  // /sys/kernel/btf/vmlinux is readable
	Caps        Caps   // effective capabilities of this process
	EUID        int    // effective user ID of this process
	PtraceScope int    // Yama's kernel.yama.ptrace_scope; 0 without Yama

	// AttachCookie: uprobe programs can call bpf_get_attach_cookie, and
	// their links give them one (5.15+).
	AttachCookie error
}

var (
	detectOnce sync.Once
	detected   *Facts
)

// Detect computes the facts once and returns the cached result afterwards.
// It loads small BPF programs and maps: on kernels before 5.11, call
// RemoveMemlock first or the probes may fail for lack of locked memory.
func Detect() *Facts {
	detectOnce.Do(func() { detected = detect() })
	return detected
}

func detect() *Facts {
	f := &Facts{Release: release(), EUID: unix.Geteuid()}
	caps, err := readCaps("/proc/self/status")
	if err == nil {
		f.Caps = caps
	}
	f.Lockdown = readLockdown(securityDir, f.Caps.Has(unix.CAP_SYS_ADMIN))
	f.WriteUser = probeWriteUser(f.Lockdown, f.Caps)
	f.UprobeMulti = probeUprobeMulti(f.Release)
	f.AttachCookie = probeAttachCookie(f.Release)
	f.RingBuf = probeRingBuf(f.Release)
	f.BTF = probeBTF(vmlinuxBTF)
	f.PtraceScope = readPtraceScope(yamaScopePath)
	return f
}

func release() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// relevantCaps are the capabilities whose presence changes what Sonde can do.
var relevantCaps = []int{
	unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_ADMIN, unix.CAP_SYS_PTRACE,
	unix.CAP_SYS_RESOURCE, unix.CAP_NET_ADMIN, unix.CAP_DAC_READ_SEARCH,
	unix.CAP_CHECKPOINT_RESTORE,
}

// KeyValues returns the facts as logr key/value pairs; feature values are
// "yes" or "no: reason", and the capabilities that matter to Sonde are
// listed as held ("caps") and missing ("caps_missing").
func (f *Facts) KeyValues() []any {
	var held, missing []string
	for _, c := range relevantCaps {
		if c == unix.CAP_SYS_RESOURCE && !ChargesMemlock(f.Release) {
			continue // only raises RLIMIT_MEMLOCK, which 5.11+ does not use for BPF
		}
		if f.Caps.Has(c) {
			held = append(held, capName(c))
		} else {
			missing = append(missing, capName(c))
		}
	}
	return []any{
		"kernel", f.Release,
		"lockdown", f.Lockdown,
		"write_user", yesNo(f.WriteUser),
		"uprobe_multi", yesNo(f.UprobeMulti),
		"ringbuf", yesNo(f.RingBuf),
		"btf", yesNo(f.BTF),
		"caps", strings.Join(held, ","),
		"caps_missing", strings.Join(missing, ","),
	}
}

func yesNo(err error) string {
	if err == nil {
		return "yes"
	}
	return "no: " + err.Error()
}
