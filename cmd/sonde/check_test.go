package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/probe"
)

func caps(ns ...int) kernel.Caps {
	var c kernel.Caps
	for _, n := range ns {
		c.Effective |= 1 << uint(n)
	}
	return c
}

func TestCheckReportWrite(t *testing.T) {
	r := &checkReport{
		facts: &kernel.Facts{
			Release:   "6.18.0",
			Lockdown:  kernel.LockdownIntegrity,
			WriteUser: errors.New("refused by kernel lockdown (mode integrity)"),
			Caps:      caps(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_NET_ADMIN),
			EUID:      65534,
		},
		path:      "/srv/app",
		running:   []int{41, 42},
		targetUID: 0,
		bin: binInfo{
			goVersion: "go1.23.5", arch: "arm64", pie: true, symtab: false, dwarf: true,
			modules: map[string]string{"example.com/app": "(devel)", "github.com/lib/pq": "v1.10.9", "golang.org/x/net": "v0.30.0"},
		},
		libs: []string{"std", "github.com/lib/pq", "google.golang.org/grpc"},
		statuses: []probe.Status{
			{Probe: "net/http server", Library: "std", Version: "go1.23.5"},
			{Probe: "pq client", Library: "github.com/lib/pq", Version: "v1.10.9", Err: errors.New("struct offsets: offsets not found: pq.conn.c")},
			{Probe: "grpc server", Library: "google.golang.org/grpc", Err: probe.ErrNotLinked},
			{Probe: "http client", Library: "std", Version: "go1.23.5", Err: fmt.Errorf("net/http.(*Transport).roundTrip not in the binary: %w", probe.ErrNotLinked)},
		},
		propagation:   "network path (sock_ops + sk_msg: plaintext HTTP/1.x)",
		notPropagated: "HTTPS, HTTP/2, connections opened before attach",
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `Kernel
  release                 6.18.0
  lockdown                integrity
  bpf_probe_write_user    no: refused by kernel lockdown (mode integrity)
  uprobe_multi            yes
  ring buffer             yes
  BTF                     yes

Privileges
  capabilities            3 effective
  used by sonde           cap_bpf, cap_perfmon, cap_net_admin (missing: cap_sys_admin, cap_sys_ptrace, cap_dac_read_search)
  uprobe_multi links      yes
  perf-event uprobes      no: needs CAP_SYS_ADMIN

Features (sonde uid 65534, target uid 0)
  spans                   on (cap_bpf+cap_perfmon or cap_sys_admin)
  other-user              off: missing cap_sys_ptrace (needs cap_sys_ptrace); switches off the target cannot be opened: no spans for it
  target-env              off: missing cap_dac_read_search+cap_sys_ptrace (needs cap_dac_read_search+cap_sys_ptrace or cap_dac_read_search+cap_perfmon); switches off the target's OTEL_SERVICE_NAME: service.name falls back to unknown_service:<exe>
  user-write              off: missing cap_sys_ptrace (needs cap_sys_ptrace); switches off the OpenTelemetry global API bridge (OTEL_GO_AUTO_GLOBAL), the Sonde sdk, gRPC and kafka-go propagation
  bpf-write               off: refused by kernel lockdown (mode integrity); switches off traceparent injection into outgoing requests from BPF
  memlock                 not needed here
  net-path                on (cap_bpf+cap_net_admin or cap_sys_admin)

Outgoing trace context (net/http client)
  traceparent             network path (sock_ops + sk_msg: plaintext HTTP/1.x)
  not propagated          HTTPS, HTTP/2, connections opened before attach

Binary /srv/app
  process                 running as pid 41, 42
  Go                      go1.23.5
  arch                    arm64
  PIE                     yes
  symbol table            no (stripped: functions found through .gopclntab)
  DWARF                   yes
  std                     go1.23.5
  github.com/lib/pq       v1.10.9
  google.golang.org/grpc  not linked
  other modules           2

Probes
  net/http server         std go1.23.5               would attach
  pq client               github.com/lib/pq v1.10.9  would not attach: struct offsets: offsets not found: pq.conn.c
  grpc server             google.golang.org/grpc -   not applicable: library not in the binary
  http client             std go1.23.5               not applicable: net/http.(*Transport).roundTrip not in the binary

1 of 4 probes would attach
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCheckSummary(t *testing.T) {
	attach := []probe.Status{{Probe: "a"}, {Probe: "b", Err: probe.ErrNotLinked}}
	none := []probe.Status{{Probe: "a", Err: probe.ErrNotLinked}, {Probe: "b", Err: errors.New("struct offsets")}}
	tests := []struct {
		facts    kernel.Facts
		statuses []probe.Status
		want     string
		code     int
	}{
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN)}, attach, "1 of 2 probes would attach", exitOK},
		{kernel.Facts{Caps: caps(unix.CAP_BPF, unix.CAP_PERFMON)}, attach, "1 of 2 probes would attach", exitOK},
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN)}, none, "0 of 2 probes would attach: nothing would be instrumented", exitNothing},
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN)}, nil, "0 of 0 probes would attach: nothing would be instrumented", exitNothing},
		{kernel.Facts{Caps: caps(unix.CAP_BPF, unix.CAP_PERFMON), UprobeMulti: errors.New("old kernel")}, attach, "sonde cannot attach here", exitNothing},
		{kernel.Facts{Caps: caps(unix.CAP_BPF)}, attach, "sonde cannot attach here", exitNothing},
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN), RingBuf: errors.New("old kernel")}, attach, "sonde cannot run here", exitNothing},
	}
	for _, tt := range tests {
		r := &checkReport{facts: &tt.facts, statuses: tt.statuses}
		if got := r.summary(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("summary with caps %#x, uprobe_multi %v, ringbuf %v, %d statuses = %q, want prefix %q",
				tt.facts.Caps.Effective, tt.facts.UprobeMulti, tt.facts.RingBuf, len(tt.statuses), got, tt.want)
		}
		code := exitOK
		if r.attaching() == 0 {
			code = exitNothing
		}
		if code != tt.code {
			t.Errorf("summary %q: exit code %d, want %d", tt.want, code, tt.code)
		}
	}
}

// TestCheckExitCodes runs `sonde check` as main does: 0 when a probe would
// attach, 1 when none would or the binary cannot be read, 2 on a usage
// mistake; what cannot be read says why.
func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(text, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := buildSonde(t)
	truncated := filepath.Join(dir, "truncated")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, data[:len(data)/3], 0o755); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"check"}, exitUsage, "sonde: check: give --exe PATH or --pid N\n"},
		{[]string{"check", "--exe", fifo}, exitNothing, "sonde check: " + fifo + ": is a FIFO, not an executable\n"},
		{[]string{"check", "--exe", dir}, exitNothing, "sonde check: " + dir + ": is a directory, not an executable\n"},
		{[]string{"check", "--exe", text}, exitNothing, "sonde check: " + text + ": not a Go executable (not an ELF file)\n"},
		{[]string{"check", "--exe", "/bin/sh"}, exitNothing, "sonde check: /bin/sh: not a Go executable (no Go build info nor pclntab)\n"},
		{[]string{"check", "--exe", truncated}, exitNothing, "sonde check: " + truncated + ": truncated ELF file: "},
		{[]string{"check", "--exe", filepath.Join(dir, "absent")}, exitNothing, "no such file or directory"},
		{[]string{"check", "--pid", "1073741824"}, exitNothing, "sonde check: no running process with pid 1073741824\n"},
	}
	for _, tt := range tests {
		var stdout, stderr strings.Builder
		if code := sonde(tt.args, &stdout, &stderr); code != tt.code {
			t.Errorf("sonde %q: exit code %d, want %d; stderr:\n%s", tt.args, code, tt.code, &stderr)
		}
		if !strings.HasPrefix(stderr.String(), tt.stderr) && !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("sonde %q: stderr %q, want %q", tt.args, &stderr, tt.stderr)
		}
	}

	// A Go binary: 0 where sonde can attach (net/http is linked), 1
	// where the machine does not let it.
	var stdout, stderr strings.Builder
	code := sonde([]string{"check", "--exe", bin}, &stdout, &stderr)
	want := exitOK
	if multi, perf := attachPrivileges(kernel.Detect()); (multi != nil && perf != nil) || kernel.Detect().RingBuf != nil {
		want = exitNothing
	}
	if code != want || !strings.Contains(stdout.String(), "probes would attach") {
		t.Errorf("sonde check --exe sonde: exit code %d, want %d; stdout:\n%s\nstderr:\n%s", code, want, &stdout, &stderr)
	}
}

// TestCheckDWARFNote: a binary without DWARF and one whose DWARF cannot be
// read are told apart.
func TestCheckDWARFNote(t *testing.T) {
	if got := dwarfNote(false, fmt.Errorf("x: %w", binary.ErrNoDWARF)); got != " (built with -ldflags=-w: struct offsets from the versioned table)" {
		t.Errorf("no DWARF: %q", got)
	}
	if got := dwarfNote(false, fmt.Errorf("reading DWARF of /x: %w", errors.New("flate: corrupt input"))); got != " (unreadable: flate: corrupt input)" {
		t.Errorf("corrupted DWARF: %q", got)
	}
	if got := dwarfNote(true, nil); got != "" {
		t.Errorf("DWARF: %q", got)
	}
}

func TestInspectExe(t *testing.T) {
	// sonde links net/http and has DWARF (test binaries have not): the
	// server probe would attach to it. Nothing here needs privileges.
	r, err := inspect(invocation{command: cmdCheck, exe: buildSonde(t)}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	if !r.bin.dwarf || r.bin.goVersion == "" || len(r.statuses) == 0 {
		t.Fatalf("report %+v", r)
	}
	for _, st := range r.statuses {
		// The net/http span probes apply to any binary linking net/http;
		// others may not (database/sql absent, write_user under lockdown).
		if (st.Probe == "net/http server" || st.Probe == "net/http client") && st.Err != nil {
			t.Errorf("%s would not attach to a test binary: %v", st.Probe, st.Err)
		}
	}
	for _, pid := range r.running {
		if pid == os.Getpid() {
			t.Error("check lists itself as running the executable")
		}
	}
}

func TestInspectNotGo(t *testing.T) {
	_, err := inspect(invocation{command: cmdCheck, exe: "/bin/sh"}, logr.Discard())
	if !errors.Is(err, binary.ErrNotGo) || err.Error() != "/bin/sh: not a Go executable (no Go build info nor pclntab)" {
		t.Errorf("inspect(/bin/sh) = %v, want a not-a-Go-executable error", err)
	}
}

func TestInspectNoProcess(t *testing.T) {
	_, err := inspect(invocation{command: cmdCheck, pid: 1 << 30}, logr.Discard())
	if err == nil || !strings.Contains(err.Error(), "no running process") {
		t.Errorf("inspect(pid 1<<30) = %v, want a no-process error", err)
	}
}
