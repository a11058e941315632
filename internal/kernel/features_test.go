package kernel

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func capsOf(ns ...int) Caps {
	var c Caps
	for _, n := range ns {
		c.Effective |= 1 << uint(n)
	}
	return c
}

func statusOf(t *testing.T, sts []FeatureStatus, name string) FeatureStatus {
	t.Helper()
	for _, st := range sts {
		if st.Feature == name {
			return st
		}
	}
	t.Fatalf("no feature %s in %v", name, sts)
	return FeatureStatus{}
}

// TestFeatures: the table as measured on 6.18 (see README: Capabilities).
func TestFeatures(t *testing.T) {
	newKernel := Facts{Release: "6.18.44", Lockdown: LockdownIntegrity, EUID: 65534}
	oldKernel := Facts{Release: "6.1.0-57-cloud-amd64", Lockdown: LockdownNone, EUID: 65534, UprobeMulti: errors.New("no")}
	ancient := Facts{Release: "5.10.0", Lockdown: LockdownNone, EUID: 65534, UprobeMulti: errors.New("no")}
	tests := []struct {
		name    string
		facts   Facts
		caps    Caps
		target  int
		feature string
		missing []string // nil: on (or not needed)
		needs   string
	}{
		{"uprobe_multi with bpf+perfmon", newKernel, capsOf(unix.CAP_BPF, unix.CAP_PERFMON), 65534, FeatureSpans, nil, "cap_bpf+cap_perfmon or cap_sys_admin"},
		{"uprobe_multi with bpf alone", newKernel, capsOf(unix.CAP_BPF), 65534, FeatureSpans, []string{"cap_perfmon"}, "cap_bpf+cap_perfmon or cap_sys_admin"},
		{"uprobe_multi with sys_admin", newKernel, capsOf(unix.CAP_SYS_ADMIN), 65534, FeatureSpans, nil, "cap_bpf+cap_perfmon or cap_sys_admin"},
		{"perf-event needs sys_admin", oldKernel, capsOf(unix.CAP_BPF, unix.CAP_PERFMON), 65534, FeatureSpans, []string{"cap_sys_admin"}, "cap_sys_admin"},
		{"same user needs no ptrace", newKernel, capsOf(unix.CAP_BPF, unix.CAP_PERFMON), 65534, FeatureOtherUser, nil, "-"},
		{"another user needs ptrace", newKernel, capsOf(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_DAC_READ_SEARCH), 0, FeatureOtherUser, []string{"cap_sys_ptrace"}, "cap_sys_ptrace"},
		{"check --exe assumes another user", newKernel, capsOf(unix.CAP_SYS_PTRACE), -1, FeatureUserWrite, nil, "cap_sys_ptrace"},
		{"environ: ptrace alone is not enough", newKernel, capsOf(unix.CAP_SYS_PTRACE), 0, FeatureTargetEnv, []string{"cap_dac_read_search"}, "cap_dac_read_search+cap_sys_ptrace or cap_dac_read_search+cap_perfmon"},
		{"environ: dac_read_search+perfmon", newKernel, capsOf(unix.CAP_DAC_READ_SEARCH, unix.CAP_PERFMON), 0, FeatureTargetEnv, nil, "cap_dac_read_search+cap_sys_ptrace or cap_dac_read_search+cap_perfmon"},
		{"memlock only before 5.11", newKernel, Caps{}, 65534, FeatureMemlock, nil, "-"},
		{"memlock on 5.10", ancient, Caps{}, 65534, FeatureMemlock, []string{"cap_sys_resource"}, "cap_sys_resource"},
		{"net path", newKernel, capsOf(unix.CAP_BPF, unix.CAP_PERFMON), 65534, FeatureNetPath, []string{"cap_net_admin"}, "cap_bpf+cap_net_admin or cap_sys_admin"},
	}
	for _, tt := range tests {
		f := tt.facts
		f.Caps = tt.caps
		st := statusOf(t, f.Features(Target{UID: tt.target}), tt.feature)
		if !slices.Equal(st.Missing, tt.missing) || st.Needs != tt.needs || (st.Err == nil) != (tt.missing == nil) {
			t.Errorf("%s: %s = needs %q, missing %v, err %v; want needs %q, missing %v", tt.name, tt.feature, st.Needs, st.Missing, st.Err, tt.needs, tt.missing)
		}
		if st.Err != nil && (!errors.Is(st.Err, ErrMissingCaps) || !strings.Contains(st.Err.Error(), tt.missing[0]) || st.Off == "") {
			t.Errorf("%s: error %v does not name %s or say what is off (%q)", tt.name, st.Err, tt.missing[0], st.Off)
		}
	}
	// Lockdown refuses bpf_probe_write_user whatever the capabilities.
	f := newKernel
	f.Caps = capsOf(unix.CAP_SYS_ADMIN)
	if st := statusOf(t, f.Features(Target{UID: 65534}), FeatureBPFWrite); !errors.Is(st.Err, ErrLockdown) {
		t.Errorf("bpf-write under lockdown: %v", st.Err)
	}
	if got := len(f.Features(Target{})); got != len(FeatureNames) {
		t.Errorf("%d statuses for %d features", got, len(FeatureNames))
	}
}

func TestRequire(t *testing.T) {
	f := Facts{Release: "6.18.0", EUID: 65534, Caps: capsOf(unix.CAP_BPF, unix.CAP_PERFMON)}
	sts := f.Features(Target{UID: 0})
	if err := Require(sts, []string{FeatureSpans}); err != nil {
		t.Errorf("spans required: %v", err)
	}
	err := Require(sts, []string{FeatureSpans, FeatureOtherUser})
	var re *RequiredError
	if !errors.As(err, &re) || re.Feature != FeatureOtherUser || !errors.Is(err, ErrMissingCaps) ||
		err.Error() != "required feature other-user unavailable: missing capabilities: needs cap_sys_ptrace" {
		t.Errorf("other-user required: %v", err)
	}
	if err := Require(sts, []string{"spanz"}); !errors.Is(err, ErrUnknownFeature) || !strings.Contains(err.Error(), `"spanz"`) {
		t.Errorf("unknown feature: %v", err)
	}
}

func TestKernelFeature(t *testing.T) {
	eperm := errors.Join(errors.New("load program"), unix.EPERM)
	if err := kernelFeature(eperm, "6.18.44-fc", 6, 6, "uprobe_multi link"); err != nil {
		t.Errorf("EPERM on 6.18: %v, want the version to decide (supported)", err)
	}
	if err := kernelFeature(eperm, "6.1.0", 6, 6, "uprobe_multi link"); err == nil || err.Error() != "uprobe_multi link: kernel 6.1.0 is older than 6.6" || strings.Contains(err.Error(), "MEMLOCK") {
		t.Errorf("EPERM on 6.1: %v", err)
	}
	if err := kernelFeature(errors.New("not supported"), "6.18", 6, 6, "x"); err == nil {
		t.Error("a real refusal was dropped")
	}
	for rel, want := range map[string]bool{"5.10.0-32-amd64": true, "5.11.0": false, "6.1.0": false, "4.19.0": true, "junk": true} {
		if got := ChargesMemlock(rel); got != want {
			t.Errorf("ChargesMemlock(%q) = %v", rel, got)
		}
	}
}

// TestFeaturesYama: from ptrace_scope 1 on, Yama makes writing into a
// target of the same user (process_vm_writev, an attach check) need
// cap_sys_ptrace, except into a descendant at 1; at 3 nothing can
// (TestYamaPtraceScope measured 0 to 2 on 6.1 and 6.12).
func TestFeaturesYama(t *testing.T) {
	caps := capsOf(unix.CAP_BPF, unix.CAP_PERFMON)
	for _, tt := range []struct {
		scope      int
		target     Target
		caps       Caps
		needs      string
		missing    []string
		errContain string
	}{
		{0, Target{UID: 65534}, caps, "-", nil, ""},
		{1, Target{UID: 65534}, caps, "cap_sys_ptrace", []string{"cap_sys_ptrace"}, "needs cap_sys_ptrace (Yama ptrace_scope 1)"},
		{1, Target{UID: 65534, Descendant: true}, caps, "-", nil, ""},
		{1, Target{UID: 65534}, capsOf(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE), "cap_sys_ptrace", nil, ""},
		{2, Target{UID: 65534, Descendant: true}, caps, "cap_sys_ptrace", []string{"cap_sys_ptrace"}, "(Yama ptrace_scope 2)"},
		{2, Target{UID: 0}, capsOf(unix.CAP_SYS_PTRACE), "cap_sys_ptrace", nil, ""},
		{3, Target{UID: 65534}, capsOf(unix.CAP_SYS_PTRACE), "yama ptrace_scope below 3", nil, "refused by Yama (ptrace_scope 3)"},
	} {
		f := Facts{Release: "6.12.117", EUID: 65534, Caps: tt.caps, PtraceScope: tt.scope}
		st := statusOf(t, f.Features(tt.target), FeatureUserWrite)
		errText := ""
		if st.Err != nil {
			errText = st.Err.Error()
		}
		if st.Needs != tt.needs || !slices.Equal(st.Missing, tt.missing) || (tt.errContain == "") != (st.Err == nil) || !strings.Contains(errText, tt.errContain) {
			t.Errorf("ptrace_scope %d, target %+v, caps %v: needs %q, missing %v, err %v; want needs %q, missing %v, err containing %q",
				tt.scope, tt.target, tt.caps.Names(), st.Needs, st.Missing, st.Err, tt.needs, tt.missing, tt.errContain)
		}
		// Yama leaves opening /proc/PID/exe of the same user alone.
		if other := statusOf(t, f.Features(tt.target), FeatureOtherUser); tt.target.UID == 65534 && other.Err != nil {
			t.Errorf("ptrace_scope %d: other-user %v for a same-user target", tt.scope, other.Err)
		}
	}
}

func TestIsDescendant(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	if !IsDescendant(cmd.Process.Pid) {
		t.Errorf("a child is not a descendant")
	}
	if IsDescendant(os.Getppid()) || IsDescendant(1) {
		t.Errorf("the parent or init is a descendant")
	}
}

func TestReadPtraceScope(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]int{"1\n": 1, "3": 3, "junk": 0} {
		p := filepath.Join(dir, "scope")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := readPtraceScope(p); got != want {
			t.Errorf("ptrace_scope %q read as %d, want %d", content, got, want)
		}
	}
	if got := readPtraceScope(filepath.Join(dir, "none")); got != 0 {
		t.Errorf("no Yama read as %d", got)
	}
}
