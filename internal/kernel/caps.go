package kernel

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
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
