package kernel

import (
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseCaps(t *testing.T) {
	status := []byte("Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffeffffff\nCapBnd:\t000001ffffffffff\n")
	c, err := parseCaps(status)
	if err != nil {
		t.Fatal(err)
	}
	if c.Effective != 0x1fffeffffff {
		t.Fatalf("Effective = %#x", c.Effective)
	}
	if !c.Has(unix.CAP_BPF) || !c.Has(unix.CAP_SYS_ADMIN) || c.Has(unix.CAP_SYS_RESOURCE) {
		t.Errorf("Has: bpf=%v sys_admin=%v sys_resource=%v", c.Has(unix.CAP_BPF), c.Has(unix.CAP_SYS_ADMIN), c.Has(unix.CAP_SYS_RESOURCE))
	}
	if c.Has(-1) || c.Has(64) {
		t.Error("Has accepts out-of-range numbers")
	}

	for _, bad := range []string{"Name:\tx\n", "CapEff:\tzz\n"} {
		if _, err := parseCaps([]byte(bad)); err == nil {
			t.Errorf("parseCaps(%q): no error", bad)
		}
	}
}

func TestCapsNames(t *testing.T) {
	c := Caps{Effective: 1<<unix.CAP_BPF | 1<<unix.CAP_PERFMON | 1<<unix.CAP_CHOWN | 1<<63}
	want := []string{"cap_chown", "cap_perfmon", "cap_bpf", "cap_63"}
	if got := c.Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	if n := len(capNames); n != unix.CAP_LAST_CAP+1 {
		t.Errorf("capNames has %d names, CAP_LAST_CAP is %d", n, unix.CAP_LAST_CAP)
	}
	if capName(unix.CAP_SYS_PTRACE) != "cap_sys_ptrace" || capName(unix.CAP_CHECKPOINT_RESTORE) != "cap_checkpoint_restore" {
		t.Error("capNames is out of order")
	}
}

func TestReadCapsSelf(t *testing.T) {
	c, err := readCaps("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	if unix.Geteuid() == 0 && !c.Has(unix.CAP_SYS_ADMIN) && !c.Has(unix.CAP_BPF) {
		t.Logf("root without cap_sys_admin or cap_bpf: %v", c.Names())
	}
	if _, err := readCaps("/nonexistent/status"); err == nil {
		t.Error("readCaps of a missing file: no error")
	}
}
