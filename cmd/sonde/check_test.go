package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"

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
			WriteUser: errors.New("refused by kernel lockdown"),
			Caps:      caps(unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_NET_ADMIN),
		},
		path:    "/srv/app",
		running: []int{41, 42},
		bin: binInfo{
			goVersion: "go1.23.5", arch: "arm64", pie: true, symtab: false, dwarf: true,
			modules: map[string]string{"example.com/app": "(devel)", "github.com/lib/pq": "v1.10.9", "golang.org/x/net": "v0.30.0"},
		},
		libs: []string{"std", "github.com/lib/pq", "google.golang.org/grpc"},
		statuses: []probe.Status{
			{Probe: "net/http server", Library: "std", Version: "go1.23.5"},
			{Probe: "pq client", Library: "github.com/lib/pq", Version: "v1.10.9", Err: errors.New("struct offsets: offsets not found: pq.conn.c")},
			{Probe: "grpc server", Library: "google.golang.org/grpc", Err: fmt.Errorf("x: %w", probe.ErrNotLinked)},
		},
	}
	var b strings.Builder
	if err := r.write(&b); err != nil {
		t.Fatal(err)
	}
	want := `Kernel
  release                 6.18.0
  lockdown                integrity
  bpf_probe_write_user    no: refused by kernel lockdown
  uprobe_multi            yes
  ring buffer             yes
  BTF                     yes

Privileges
  capabilities            3 effective
  used by sonde           cap_bpf, cap_perfmon (missing: cap_sys_admin, cap_sys_ptrace, cap_sys_resource)
  uprobe_multi links      yes
  perf-event uprobes      no: needs CAP_SYS_ADMIN

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

1 of 3 probes would attach
`
	if got := b.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestCheckSummary(t *testing.T) {
	tests := []struct {
		facts kernel.Facts
		want  string
	}{
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN)}, "0 of 0 probes would attach"},
		{kernel.Facts{Caps: caps(unix.CAP_BPF, unix.CAP_PERFMON)}, "0 of 0 probes would attach"},
		{kernel.Facts{Caps: caps(unix.CAP_BPF, unix.CAP_PERFMON), UprobeMulti: errors.New("old kernel")}, "sonde cannot attach here"},
		{kernel.Facts{Caps: caps(unix.CAP_BPF)}, "sonde cannot attach here"},
		{kernel.Facts{Caps: caps(unix.CAP_SYS_ADMIN), RingBuf: errors.New("old kernel")}, "sonde cannot run here"},
	}
	for _, tt := range tests {
		r := &checkReport{facts: &tt.facts}
		if got := r.summary(0); !strings.HasPrefix(got, tt.want) {
			t.Errorf("summary with caps %#x, uprobe_multi %v, ringbuf %v = %q, want prefix %q",
				tt.facts.Caps.Effective, tt.facts.UprobeMulti, tt.facts.RingBuf, got, tt.want)
		}
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
	if err == nil || !strings.Contains(err.Error(), "/bin/sh is not a Go executable") {
		t.Errorf("inspect(/bin/sh) = %v, want a not-a-Go-executable error", err)
	}
}

func TestInspectNoProcess(t *testing.T) {
	_, err := inspect(invocation{command: cmdCheck, pid: 1 << 30}, logr.Discard())
	if err == nil || !strings.Contains(err.Error(), "no running process") {
		t.Errorf("inspect(pid 1<<30) = %v, want a no-process error", err)
	}
}
