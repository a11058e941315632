package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Caps is a set of Linux capabilities, one bit per capability number
// (unix.CAP_BPF and friends).
type Caps struct {
	// Effective is the CapEff mask from /proc/self/status.
	Effective uint64
}

// Has reports whether capability number cap (e.g. unix.CAP_BPF) is in the set.
func (c Caps) Has(cap int) bool {
	if cap < 0 || cap > 63 {
		return false
	}
	return c.Effective&(1<<uint(cap)) != 0
}

// Names lists the capabilities in the set, lowercase as in capabilities(7)
// ("cap_bpf"); numbers with no known name are listed as "cap_N".
func (c Caps) Names() []string {
	var names []string
	for i := range 64 {
		if c.Has(i) {
			names = append(names, capName(i))
		}
	}
	return names
}

// capNames is indexed by capability number, from linux/capability.h.
var capNames = [...]string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

func capName(i int) string {
	if i >= 0 && i < len(capNames) {
		return capNames[i]
	}
	return "cap_" + strconv.Itoa(i)
}

// readCaps parses the CapEff line of a /proc/PID/status file.
func readCaps(path string) (Caps, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Caps{}, fmt.Errorf("reading capabilities: %w", err)
	}
	return parseCaps(data)
}

func parseCaps(status []byte) (Caps, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return Caps{}, fmt.Errorf("parsing CapEff %q: %w", v, err)
		}
		return Caps{Effective: mask}, nil
	}
	return Caps{}, fmt.Errorf("parsing capabilities: no CapEff line")
}

// RaiseEffective makes every permitted capability effective, on every
// thread, and the process dumpable again. Sonde's
// image gives /sonde file capabilities without the effective bit (a
// binary that raises them itself), so that a container whose bounding set
// holds only some of them still starts, with those; it is a no-op when
// the effective set already equals the permitted one (root, or ambient
// capabilities).
func RaiseEffective() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("reading capabilities: %w", err)
	}
	if data[0].Effective == data[0].Permitted && data[1].Effective == data[1].Permitted {
		return nil
	}
	data[0].Effective, data[1].Effective = data[0].Permitted, data[1].Permitted
	// Capabilities belong to threads: set them on every thread of the
	// process, or the BPF calls made from other threads fail with EPERM.
	_, _, errno := syscall.AllThreadsSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&data[0])), 0)
	if errno == unix.ENOTSUP {
		// A cgo build: the Go runtime cannot reach the C threads.
		return fmt.Errorf("raising permitted capabilities: %w (file capabilities need a CGO_ENABLED=0 build; give the capabilities to the process instead)", errno)
	}
	if errno != 0 {
		return fmt.Errorf("raising permitted capabilities on every thread: %w", errno)
	}
	// An exec that granted file capabilities left the process
	// non-dumpable: /proc/self/* belongs to root then, and cilium/ebpf
	// cannot read /proc/self/mem (the vDSO's kernel version). Dumpable
	// again, the files are this user's; other processes of the user still
	// cannot ptrace or open the memory of this one, whose capabilities
	// they lack (the ptrace access check compares them).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("making the process dumpable after raising capabilities: %w", err)
	}
	return nil
}
