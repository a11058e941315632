package kernel

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// Features whose privileges Sonde checks at start, by the names
// OTEL_GO_AUTO_REQUIRE takes.
const (
	// FeatureSpans is loading BPF and attaching uprobes: every span.
	FeatureSpans = "spans"
	// FeatureOtherUser is opening a target that runs as another user:
	// /proc/PID/exe and reads of its memory (sentinel error values,
	// pointers read once at start).
	FeatureOtherUser = "other-user"
	// FeatureTargetEnv is reading another user's /proc/PID/environ: the
	// target's OTEL_SERVICE_NAME.
	FeatureTargetEnv = "target-env"
	// FeatureUserWrite is writing into the target from user space
	// (process_vm_writev): the OpenTelemetry global API's auto flag, the
	// Sonde sdk's attach word, the header-key arena of gRPC and kafka-go
	// propagation.
	FeatureUserWrite = "user-write"
	// FeatureBPFWrite is bpf_probe_write_user: traceparent written into
	// outgoing requests from BPF.
	FeatureBPFWrite = "bpf-write"
	// FeatureMemlock is raising RLIMIT_MEMLOCK, which kernels before 5.11
	// charge BPF maps and programs to.
	FeatureMemlock = "memlock"
	// FeatureNetPath is traceparent added on the network path (sock_ops +
	// sk_msg on the cgroup2 root).
	FeatureNetPath = "net-path"
)

// FeatureNames lists every feature, in the order `sonde check` prints them.
var FeatureNames = []string{FeatureSpans, FeatureOtherUser, FeatureTargetEnv, FeatureUserWrite, FeatureBPFWrite, FeatureMemlock, FeatureNetPath}

// ErrMissingCaps matches a FeatureStatus error caused by capabilities
// Sonde does not hold.
var ErrMissingCaps = errors.New("missing capabilities")

// FeatureStatus is whether one feature works here, and if not, why.
type FeatureStatus struct {
	Feature string
	// Needs says which capabilities the feature needs on this kernel, as
	// capabilities(7) names joined by "+" ("cap_bpf+cap_perfmon"), "none",
	// or "-" when it does not apply.
	Needs string
	// Missing lists the capabilities to add for the feature to work.
	Missing []string
	// Err is nil when the feature works or does not apply; else it says
	// why not and matches ErrMissingCaps when capabilities are the cause.
	Err error
	// Off says what a missing feature switches off.
	Off string
}

// Target describes the process a feature check is for.
type Target struct {
	// UID is the target's real user ID; -1 when there is no process (sonde
	// check --exe), which checks the features for a target of another user.
	UID int
	// Descendant is set when the target descends from Sonde (`sonde run`):
	// Yama's ptrace_scope 1 lets Sonde write into it without CAP_SYS_PTRACE.
	Descendant bool
}

// offText says what each feature's absence switches off.
var offText = map[string]string{
	FeatureSpans:     "every probe: no spans",
	FeatureOtherUser: "the target cannot be opened: no spans for it",
	FeatureTargetEnv: "the target's OTEL_SERVICE_NAME: service.name falls back to unknown_service:<exe>",
	FeatureUserWrite: "the OpenTelemetry global API bridge (OTEL_GO_AUTO_GLOBAL), the Sonde sdk, gRPC and kafka-go propagation",
	FeatureBPFWrite:  "traceparent injection into outgoing requests from BPF",
	FeatureMemlock:   "nothing at start; probes may fail to load once RLIMIT_MEMLOCK is used up",
	FeatureNetPath:   "traceparent added on the network path (HTTP/1.x)",
}

// Features says, for each of FeatureNames, whether it works with the
// capabilities in f for target t.
func (f *Facts) Features(t Target) []FeatureStatus {
	other := t.UID < 0 || t.UID != f.EUID
	var out []FeatureStatus
	for _, name := range FeatureNames {
		st := FeatureStatus{Feature: name, Off: offText[name]}
		var alts [][]int // any one set suffices
		applies := true
		switch name {
		case FeatureSpans:
			// uprobe_multi links need CAP_BPF+CAP_PERFMON; classic
			// perf-event uprobes CAP_SYS_ADMIN (perf_uprobe PMU: EACCES
			// with CAP_PERFMON alone, measured on 6.18).
			if f.UprobeMulti == nil {
				alts = [][]int{{unix.CAP_BPF, unix.CAP_PERFMON}, {unix.CAP_SYS_ADMIN}}
			} else {
				alts = [][]int{{unix.CAP_SYS_ADMIN}}
			}
		case FeatureOtherUser, FeatureUserWrite:
			// /proc/PID/exe and process_vm_readv/writev of another
			// user's process: CAP_SYS_PTRACE alone suffices, and nothing
			// else does (CAP_DAC_READ_SEARCH, CAP_PERFMON: EACCES/EPERM).
			applies = other
			alts = [][]int{{unix.CAP_SYS_PTRACE}}
			if name == FeatureUserWrite && f.yamaRestricts(t) {
				// process_vm_readv/writev and /proc/PID/mem are ptrace
				// attach checks, which Yama restricts from ptrace_scope 1
				// on, for a target of the same user too; opening
				// /proc/PID/exe is a read check it leaves alone (measured
				// on 6.1 and 6.12: TestYamaPtraceScope).
				if f.PtraceScope >= 3 {
					st.Needs = "yama ptrace_scope below 3"
					st.Err = fmt.Errorf("refused by Yama (ptrace_scope %d)", f.PtraceScope)
					out = append(out, st)
					continue
				}
				applies = true
			}
		case FeatureTargetEnv:
			// environ is mode 0400: DAC (CAP_DAC_READ_SEARCH) and a
			// ptrace read check (CAP_SYS_PTRACE; on 6.18 CAP_PERFMON
			// passes that check too, on 6.1 and 6.12 it does not).
			applies = other
			alts = [][]int{{unix.CAP_DAC_READ_SEARCH, unix.CAP_SYS_PTRACE}}
			if releaseAtLeast(f.Release, 6, 18) {
				alts = append(alts, []int{unix.CAP_DAC_READ_SEARCH, unix.CAP_PERFMON})
			}
		case FeatureBPFWrite:
			if f.Lockdown == LockdownIntegrity || f.Lockdown == LockdownConfidentiality {
				st.Needs = "cap_sys_admin, no lockdown"
				st.Err = fmt.Errorf("%w (mode %s)", ErrLockdown, f.Lockdown)
				out = append(out, st)
				continue
			}
			alts = [][]int{{unix.CAP_SYS_ADMIN}}
		case FeatureMemlock:
			applies = ChargesMemlock(f.Release)
			alts = [][]int{{unix.CAP_SYS_RESOURCE}}
		case FeatureNetPath:
			// sock_ops and sockhash maps: CAP_BPF+CAP_NET_ADMIN (map
			// create: EPERM without either, measured on 6.18).
			alts = [][]int{{unix.CAP_BPF, unix.CAP_NET_ADMIN}, {unix.CAP_SYS_ADMIN}}
		}
		st.Needs = needsText(alts)
		if !applies {
			st.Needs, st.Off = "-", ""
			out = append(out, st)
			continue
		}
		if missing := f.Caps.missingAll(alts); len(missing) > 0 {
			st.Missing = missing
			st.Err = fmt.Errorf("%w: needs %s", ErrMissingCaps, strings.Join(missing, "+"))
			if name == FeatureUserWrite && !other {
				st.Err = fmt.Errorf("%w (Yama ptrace_scope %d)", st.Err, f.PtraceScope)
			}
		}
		out = append(out, st)
	}
	return out
}

// yamaRestricts reports whether Yama refuses Sonde ptrace attach access
// (process_vm_writev) to target t without CAP_SYS_PTRACE: from
// ptrace_scope 2 on, or at 1 when t is not Sonde's descendant.
func (f *Facts) yamaRestricts(t Target) bool {
	return f.PtraceScope >= 2 || f.PtraceScope == 1 && !t.Descendant
}

// missingAll returns nil when the set holds every capability of one of
// alts, else what is missing from the first alternative.
func (c Caps) missingAll(alts [][]int) []string {
	var first []string
	for i, alt := range alts {
		var missing []string
		for _, cap := range alt {
			if !c.Has(cap) {
				missing = append(missing, capName(cap))
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if i == 0 {
			first = missing
		}
	}
	return first
}

// needsText writes alternatives as "cap_bpf+cap_perfmon or cap_sys_admin".
func needsText(alts [][]int) string {
	var parts []string
	for _, alt := range alts {
		var names []string
		for _, cap := range alt {
			names = append(names, capName(cap))
		}
		parts = append(parts, strings.Join(names, "+"))
	}
	return strings.Join(parts, " or ")
}

// RequiredError is returned by Require for a feature that was required
// (OTEL_GO_AUTO_REQUIRE) but does not work.
type RequiredError struct {
	Feature string
	Err     error
}

func (e *RequiredError) Error() string {
	return fmt.Sprintf("required feature %s unavailable: %v", e.Feature, e.Err)
}

func (e *RequiredError) Unwrap() error { return e.Err }

// ErrUnknownFeature reports a name in OTEL_GO_AUTO_REQUIRE that is not one
// of FeatureNames.
var ErrUnknownFeature = errors.New("unknown feature")

// Require checks that each of the required features works according to
// statuses; it returns the first that does not as a *RequiredError, and
// an error wrapping ErrUnknownFeature for a name that is not a feature.
func Require(statuses []FeatureStatus, required []string) error {
	for _, name := range required {
		if !slices.Contains(FeatureNames, name) {
			return fmt.Errorf("%w %q (features: %s)", ErrUnknownFeature, name, strings.Join(FeatureNames, ", "))
		}
		for _, st := range statuses {
			if st.Feature == name && st.Err != nil {
				return &RequiredError{Feature: name, Err: st.Err}
			}
		}
	}
	return nil
}

// ChargesMemlock reports whether the kernel release is before 5.11, when
// BPF memory moved from RLIMIT_MEMLOCK to memory cgroup accounting.
func ChargesMemlock(release string) bool {
	return !releaseAtLeast(release, 5, 11)
}

// releaseAtLeast reports whether a uname release ("6.18.44-fc") is at
// least major.minor; an unparsable release is taken as old.
func releaseAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if _, err := fmt.Sscanf(release, "%d.%d", &ma, &mi); err != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
