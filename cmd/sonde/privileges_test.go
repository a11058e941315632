package main

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// unprivDir copies sonde and the privweb fixture where uid 65534 can run
// them.
func unprivDir(t *testing.T) (sonde, web string) {
	t.Helper()
	sb := e2etest.NewSandbox(t)
	return sb.Copy(t, buildSonde(t)), sb.Copy(t, testenv.Build(t, "testdata/privweb", testenv.Name("privweb")))
}

// countKinds counts server and client spans named GET.
func countKinds(spans []otlptest.Span) (server, client int) {
	for _, s := range spans {
		switch {
		case s.Kind == ptrace.SpanKindServer:
			server++
		case s.Kind == ptrace.SpanKindClient:
			client++
		}
	}
	return server, client
}

// TestRunUnprivileged: `sonde run` as uid 65534 with only CAP_BPF and
// CAP_PERFMON instruments a same-user net/http program: every request
// gives a server and a client span. With CAP_PERFMON removed, the spans
// feature is reported off, naming the capability, and the program runs.
func TestRunUnprivileged(t *testing.T) {
	testenv.RequireRoot(t)
	sonde, web := unprivDir(t)
	t.Run("bpf+perfmon", func(t *testing.T) {
		rcv := otlptest.Start(t)
		cmd := exec.Command(sonde, "run", "--", web, "0s", "5")
		cmd.Env = append(os.Environ(), rcv.Env()...)
		e2etest.AsNobody(cmd, unix.CAP_BPF, unix.CAP_PERFMON)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sonde run: %v\n%s", err, out)
		}
		spans := rcv.WaitSpans(t, 10, 10*time.Second)
		if s, c := countKinds(spans); s != 5 || c != 5 {
			t.Errorf("%d server and %d client spans, want 5 and 5\n%s", s, c, out)
		}
		if strings.Contains(string(out), "feature=spans") || strings.Contains(string(out), "MEMLOCK") {
			t.Errorf("spans reported off, or MEMLOCK advice:\n%s", out)
		}
	})
	t.Run("bpf only", func(t *testing.T) {
		rcv := otlptest.Start(t)
		cmd := exec.Command(sonde, "run", "--", web, "0s", "2")
		cmd.Env = append(os.Environ(), rcv.Env()...)
		e2etest.AsNobody(cmd, unix.CAP_BPF)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sonde run: %v (the program must still run)\n%s", err, out)
		}
		if !strings.Contains(string(out), `msg="feature off" feature=spans reason="missing capabilities: needs cap_perfmon"`) {
			t.Errorf("no feature-off line naming cap_perfmon:\n%s", out)
		}
		if !strings.Contains(string(out), "running "+web+" uninstrumented") {
			t.Errorf("no uninstrumented notice:\n%s", out)
		}
		if n := len(rcv.Spans()); n != 0 {
			t.Errorf("%d spans without cap_perfmon", n)
		}
	})
}

// TestOtherUserTarget: sonde as uid 65534 attaching to a root program by
// PID needs CAP_SYS_PTRACE: with it, the spans arrive; without it, the
// error says which capability is missing.
func TestOtherUserTarget(t *testing.T) {
	testenv.RequireRoot(t)
	sonde, web := unprivDir(t)
	start := func(t *testing.T, n string) *exec.Cmd {
		target := exec.Command(web, "2s", n) // root
		if err := target.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { target.Process.Kill(); target.Wait() })
		return target
	}
	t.Run("with sys_ptrace", func(t *testing.T) {
		target := start(t, "5")
		rcv := otlptest.Start(t)
		cmd := exec.Command(sonde)
		cmd.Env = append(os.Environ(), append(rcv.Env(), "OTEL_GO_AUTO_TARGET_PID="+itoa(target.Process.Pid), "OTEL_GO_AUTO_REQUIRE=spans,other-user")...)
		e2etest.AsNobody(cmd, unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("sonde: %v\n%s", err, out)
		}
		spans := rcv.WaitSpans(t, 10, 10*time.Second)
		if s, c := countKinds(spans); s != 5 || c != 5 {
			t.Errorf("%d server and %d client spans, want 5 and 5\n%s", s, c, out)
		}
		if !strings.Contains(string(out), "feature=target-env") {
			t.Errorf("target-env (cap_dac_read_search missing) not reported off:\n%s", out)
		}
	})
	t.Run("without sys_ptrace", func(t *testing.T) {
		target := start(t, "1")
		cmd := exec.Command(sonde)
		cmd.Env = append(os.Environ(), "OTEL_GO_AUTO_TARGET_PID="+itoa(target.Process.Pid), "OTEL_TRACES_EXPORTER=none")
		e2etest.AsNobody(cmd, unix.CAP_BPF, unix.CAP_PERFMON)
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("sonde attached to a root process without cap_sys_ptrace:\n%s", out)
		}
		want := "permission denied (pid " + itoa(target.Process.Pid) + " runs as uid 0, sonde as uid 65534 without cap_sys_ptrace: feature other-user needs it)"
		if !strings.Contains(string(out), want) {
			t.Errorf("output does not say %q:\n%s", want, out)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestHybridUnprivileged: the OpenTelemetry global API bridge, whose flag
// sonde writes into the target from user space (process_vm_writev), works
// as uid 65534 with CAP_BPF and CAP_PERFMON against a same-user app, and
// with CAP_SYS_PTRACE added against an app of root: the manual span is the
// child of the eBPF server span.
func TestHybridUnprivileged(t *testing.T) {
	testenv.RequireRoot(t)
	sonde, _ := unprivDir(t)
	app := e2etest.NewSandbox(t).Copy(t, testenv.Build(t, "../../probes/otelglobal/testdata/globalapp", testenv.Name("globalapp")))
	for _, tc := range []struct {
		name    string
		appUser bool // the app runs as uid 65534 too
		caps    []uintptr
	}{
		{"same user, bpf+perfmon", true, []uintptr{unix.CAP_BPF, unix.CAP_PERFMON}},
		{"root app, bpf+perfmon+sys_ptrace", false, []uintptr{unix.CAP_BPF, unix.CAP_PERFMON, unix.CAP_SYS_PTRACE}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			appCmd := exec.Command(app)
			if tc.appUser {
				e2etest.AsNobody(appCmd)
			}
			appOut := &syncBuffer{}
			appCmd.Stdout = appOut
			if err := appCmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { appCmd.Process.Kill(); appCmd.Wait() })
			appOut.waitFor(t, "listening on ")
			addr := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(appOut.String(), "\n", 2)[0], "listening on "))

			rcv := otlptest.Start(t)
			cmd := exec.Command(sonde)
			cmd.Env = append(os.Environ(), append(rcv.Env(), "OTEL_GO_AUTO_TARGET_PID="+itoa(appCmd.Process.Pid), "OTEL_GO_AUTO_GLOBAL=true", "OTEL_GO_AUTO_REQUIRE=spans,user-write")...)
			e2etest.AsNobody(cmd, tc.caps...)
			log := &syncBuffer{}
			cmd.Stderr = log
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			})
			log.waitFor(t, `probe="OpenTelemetry global API"`)
			resp, err := http.Get("http://" + addr + "/todos")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			spans := rcv.WaitSpans(t, 3, 20*time.Second)
			var server *otlptest.Span
			manual := 0
			for i := range spans {
				if spans[i].Kind == ptrace.SpanKindServer {
					server = &spans[i]
				}
			}
			if server == nil {
				t.Fatalf("no server span in %d spans\n%s", len(spans), log)
			}
			for _, s := range spans {
				if s.Scope == "globalapp" && s.TraceID == server.TraceID {
					manual++
				}
			}
			if manual == 0 {
				t.Errorf("no manual span of the global API in the server span's trace (%d spans)\n%s", len(spans), log)
			}
			if strings.Contains(log.String(), "feature=user-write") || strings.Contains(log.String(), "feature=spans") {
				t.Errorf("a needed feature was reported off:\n%s", log)
			}
		})
	}
}
