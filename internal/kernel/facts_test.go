package kernel

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// atLeast reports whether the running kernel release is at least major.minor.
func atLeast(t *testing.T, release string, major, minor int) bool {
	t.Helper()
	parts := strings.SplitN(release, ".", 3)
	if len(parts) < 2 {
		t.Fatalf("cannot parse release %q", release)
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(leadingDigits(parts[1]))
	if err1 != nil || err2 != nil {
		t.Fatalf("cannot parse release %q", release)
	}
	return ma > major || ma == major && mi >= minor
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

func TestDetectCached(t *testing.T) {
	testenv.RequireRoot(t)
	if Detect() != Detect() {
		t.Fatal("Detect does not cache")
	}
}

func TestDetectCoherent(t *testing.T) {
	testenv.RequireRoot(t)
	f := Detect()
	for _, kv := range [][2]any{
		{"write_user", f.WriteUser}, {"uprobe_multi", f.UprobeMulti},
		{"ringbuf", f.RingBuf}, {"btf", f.BTF},
	} {
		t.Logf("%s: %v", kv[0], kv[1])
	}
	t.Logf("release %s, lockdown %s, caps %v", f.Release, f.Lockdown, f.Caps.Names())

	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	if f.Release != unix.ByteSliceToString(u.Release[:]) || f.Release == "" {
		t.Errorf("Release = %q", f.Release)
	}
	if f.Caps.Effective == 0 {
		t.Error("root with no effective capabilities")
	}
	if data, err := os.ReadFile(securityDir + "/lockdown"); err == nil {
		if want := parseLockdown(string(data)); f.Lockdown != want {
			t.Errorf("Lockdown = %q, file says %q", f.Lockdown, want)
		}
	}

	switch {
	case lockedDown(f.Lockdown):
		if f.WriteUser == nil {
			t.Errorf("lockdown %q but WriteUser is nil", f.Lockdown)
		} else if !errors.Is(f.WriteUser, ErrLockdown) || !strings.Contains(f.WriteUser.Error(), "lockdown") {
			t.Errorf("WriteUser under lockdown does not say so: %v", f.WriteUser)
		}
	case f.Lockdown == LockdownNone && f.Caps.Has(unix.CAP_SYS_ADMIN):
		if f.WriteUser != nil {
			t.Errorf("no lockdown and cap_sys_admin, but WriteUser: %v", f.WriteUser)
		}
	}
	if f.WriteUser != nil && !errors.Is(f.WriteUser, ebpf.ErrNotSupported) {
		t.Errorf("WriteUser is not ErrNotSupported: %v", f.WriteUser)
	}

	// cilium/ebpf's own helper probe must agree with ours.
	helperErr := features.HaveProgramHelper(ebpf.Kprobe, asm.FnProbeWriteUser)
	if (helperErr == nil) != (f.WriteUser == nil) {
		t.Errorf("HaveProgramHelper says %v, WriteUser says %v", helperErr, f.WriteUser)
	}

	if atLeast(t, f.Release, 6, 6) && f.UprobeMulti != nil {
		t.Errorf("kernel %s >= 6.6 but UprobeMulti: %v", f.Release, f.UprobeMulti)
	}
	if atLeast(t, f.Release, 5, 8) && f.RingBuf != nil {
		t.Errorf("kernel %s >= 5.8 but RingBuf: %v", f.Release, f.RingBuf)
	}
	if _, err := os.Stat(vmlinuxBTF); (err == nil) != (f.BTF == nil) {
		t.Errorf("stat %s: %v, BTF: %v", vmlinuxBTF, err, f.BTF)
	}
}

func TestKeyValues(t *testing.T) {
	errNo := errors.New("nope")
	f := &Facts{
		Release: "6.1.0", Lockdown: LockdownIntegrity,
		WriteUser: errNo, Caps: Caps{Effective: 1 << unix.CAP_BPF},
	}
	kv := f.KeyValues()
	if len(kv)%2 != 0 {
		t.Fatalf("odd number of key/values: %v", kv)
	}
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			t.Fatalf("key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	want := map[string]any{
		"kernel": "6.1.0", "lockdown": "integrity", "write_user": "no: nope",
		"uprobe_multi": "yes", "ringbuf": "yes", "btf": "yes", "caps": "cap_bpf",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if s, _ := m["caps_missing"].(string); !strings.Contains(s, "cap_perfmon") || strings.Contains(s, "cap_bpf") {
		t.Errorf("caps_missing = %q", s)
	}
}

func TestHelperRefused(t *testing.T) {
	for _, tc := range []struct {
		log  []string
		want bool
	}{
		{[]string{"6: (85) call bpf_probe_write_user#36", "program of this type cannot use helper bpf_probe_write_user#36", "processed 7 insns"}, true},
		{[]string{"invalid func unknown#36"}, true},
		{[]string{"unknown func bpf_probe_write_user#36"}, true},
		{[]string{"R1 type=scalar expected=fp"}, false},
		{nil, false},
	} {
		if got := helperRefused(tc.log); got != tc.want {
			t.Errorf("helperRefused(%q) = %v", tc.log, got)
		}
	}
}

func TestProbeBTF(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad"
	if err := os.WriteFile(bad, []byte("ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := probeBTF(bad); err == nil {
		t.Error("bad magic: no error")
	}
	if err := probeBTF(dir + "/missing"); err == nil {
		t.Error("missing file: no error")
	}
}

func TestRemoveMemlock(t *testing.T) {
	testenv.RequireRoot(t)
	if err := RemoveMemlock(); err != nil {
		t.Fatal(err)
	}
}

// TestWriteUserRefusal: the reason names neither the helper (its reader
// does) nor "not supported", and still matches the sentinels.
func TestWriteUserRefusal(t *testing.T) {
	admin := Caps{Effective: 1 << unix.CAP_SYS_ADMIN}
	tests := []struct {
		lockdown string
		caps     Caps
		want     string
		lock     bool
	}{
		{LockdownIntegrity, admin, `refused by kernel lockdown (mode integrity)`, true},
		{LockdownConfidentiality, admin, `refused by kernel lockdown (mode confidentiality)`, true},
		{LockdownNone, Caps{}, "needs cap_sys_admin", false},
		{LockdownUnknown, admin, "refused by the kernel (lockdown mode unknown, possibly locked down)", false},
		{LockdownNone, admin, "refused by the kernel", false},
	}
	for _, tt := range tests {
		err := writeUserRefusal(tt.lockdown, tt.caps)
		if err.Error() != tt.want {
			t.Errorf("lockdown %s: %q, want %q", tt.lockdown, err, tt.want)
		}
		if !errors.Is(err, ebpf.ErrNotSupported) || errors.Is(err, ErrLockdown) != tt.lock {
			t.Errorf("lockdown %s: %v: ErrNotSupported %v, ErrLockdown %v", tt.lockdown, err, errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, ErrLockdown))
		}
	}
}
