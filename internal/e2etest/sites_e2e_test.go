package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestSitesAgree: the todo example traced with the classic probe sites
// (first byte, ret) and with the emulated ones (push after the stack
// check, call sites of database/sql's methods: emulated and single-stepped
// ones both, see sonde check) gives the same spans, the same parents, the
// database span inside its server span, and durations no longer than the
// classic ones (the emulated sites only drop trap work from inside the
// spans). Rounds alternate on one process.
func TestSitesAgree(t *testing.T) {
	testenv.RequireRoot(t)
	pid, base := startTodo(t, testenv.Build(t, "../../examples/todo"), "TODO_DB="+filepath.Join(t.TempDir(), "todo.db"))
	const perRound = 15 // iterations: POST, GET item, GET list, DELETE
	shapes := map[string][]string{}
	durs := map[string]map[string][]time.Duration{}
	for round, mode := range []string{"classic", "emulated", "classic", "emulated"} {
		t.Setenv("OTEL_GO_AUTO_PROBE_SITES", mode)
		rcv := otlptest.Start(t)
		inst, err := NewInstrumentation(t, pid, rcv)
		if err != nil {
			t.Fatal(err)
		}
		if err := inst.Load(context.Background()); err != nil {
			inst.Close()
			t.Fatalf("%s: Load: %v", mode, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- inst.Run(ctx) }()
		for range perRound {
			resp, err := http.Post(base+"/todos", "application/json", strings.NewReader(`{"title":"t"}`))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /todos: %v %v", resp, err)
			}
			var created struct{ ID int64 }
			json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			item := fmt.Sprintf("%s/todos/%d", base, created.ID)
			for _, r := range []struct{ method, url string }{{"GET", item}, {"GET", base + "/todos"}, {"DELETE", item}} {
				req, _ := http.NewRequest(r.method, r.url, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
		}
		spans := rcv.WaitSpans(t, 8*perRound, 20*time.Second)
		cancel()
		<-done
		inst.Close()
		byID := map[string]otlptest.Span{}
		for _, s := range spans {
			byID[s.SpanID.String()] = s
		}
		if durs[mode] == nil {
			durs[mode] = map[string][]time.Duration{}
		}
		for _, s := range spans {
			if s.ParentID.IsEmpty() {
				durs[mode]["server"] = append(durs[mode]["server"], s.End.Sub(s.Start))
				continue
			}
			parent, ok := byID[s.ParentID.String()]
			if !ok || !parent.ParentID.IsEmpty() || parent.TraceID != s.TraceID {
				t.Errorf("%s round %d: span %s has no server parent", mode, round, s.Name)
				continue
			}
			if s.Start.Before(parent.Start) || s.End.After(parent.End) {
				t.Errorf("%s round %d: %s [%v, %v] not inside %s [%v, %v]", mode, round, s.Name, s.Start, s.End, parent.Name, parent.Start, parent.End)
			}
			durs[mode]["db"] = append(durs[mode]["db"], s.End.Sub(s.Start))
			shapes[mode] = append(shapes[mode], fmt.Sprintf("%s > %s %v %v", parent.Name, s.Name, s.Attrs["db.query.text"], s.StatusCode))
		}
		if len(spans) != 8*perRound {
			t.Errorf("%s round %d: %d spans, want %d", mode, round, len(spans), 8*perRound)
		}
	}
	slices.Sort(shapes["classic"])
	slices.Sort(shapes["emulated"])
	if !slices.Equal(shapes["classic"], shapes["emulated"]) || len(shapes["classic"]) != 8*perRound {
		t.Errorf("spans differ:\nclassic  %q\nemulated %q", shapes["classic"], shapes["emulated"])
	}
	for _, kind := range []string{"server", "db"} {
		c, e := median(durs["classic"][kind]), median(durs["emulated"][kind])
		t.Logf("%s spans: median %v classic, %v emulated (%d each)", kind, c, e, len(durs["classic"][kind]))
		if e > c+c/4+5*time.Microsecond {
			t.Errorf("%s spans: median %v with emulated sites, longer than the %v of the classic ones", kind, e, c)
		}
	}
}

// startTodo starts the todo example on a free port and waits until it
// answers; it returns its PID and base URL.
func startTodo(t *testing.T, bin string, env ...string) (int, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), append(env, "ADDR="+addr)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting todo: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	base := "http://" + addr
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return cmd.Process.Pid, base
		}
		if time.Now().After(deadline) {
			t.Fatalf("todo at %s does not answer", base)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
