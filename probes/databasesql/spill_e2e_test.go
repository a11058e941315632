package databasesql_test

import (
	"errors"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/databasesql"
)

// TestErrorAtSpillSite: in the fixture's /error-row handler,
// QueryRowContext's QueryContext is inlined; the handler stores the
// returned error to its frame (the Row) and overwrites BX and CX before
// its call to Scan. Where the kernel gives attach cookies, query_ret runs
// at that call site (an emulated instruction) and reads the error from
// the frame: the failing query's span still carries its error and the
// database's code for it. So through uprobe_multi links, through
// perf-event uprobes (the fallback before 6.6, its cookie on the
// perf-event link), and, without cookies (before 5.15), at the return
// address with the error in its registers.
func TestErrorAtSpillSite(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/dbapp")
	facts := kernel.Detect()
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			proc := e2etest.Start(t, bin, "DB_DRIVER="+db.driver, "DB_DSN="+dsn, "TABLE=spill")
			pid := proc.Cmd.Process.Pid
			app := dbApp{db: db, dsn: dsn, base: "http://" + proc.Addr, pid: pid}
			for _, mode := range []struct {
				name      string
				multi     bool // uprobe_multi links, where the kernel has them
				cookies   bool
				requireOK error // why the kernel cannot run this mode
			}{
				{"uprobe_multi", true, true, facts.UprobeMulti},
				{"perf-event", false, true, nil},
				{"no cookies", true, false, nil},
			} {
				t.Run(mode.name, func(t *testing.T) {
					if mode.requireOK != nil {
						t.Skipf("kernel: %v", mode.requireOK)
					}
					multi, cookies := facts.UprobeMulti, facts.AttachCookie
					t.Cleanup(func() { facts.UprobeMulti, facts.AttachCookie = multi, cookies })
					if !mode.multi {
						facts.UprobeMulti = errors.New("off for this test")
					}
					if !mode.cookies {
						facts.AttachCookie = errors.New("off for this test")
					}
					checkSpillSite(t, pid, facts.AttachCookie == nil)
					rcv, _ := app.instrument(t, map[string]string{envInclude: "true", envParse: "true"})
					for range 3 {
						if s := get(t, "GET", app.base+"/error-row", nil); s != 500 {
							t.Fatalf("GET /error-row: status %d, want 500", s)
						}
					}
					tr := treesOf(rcv.WaitSpans(t, 6, 20*time.Second))
					if n := len(tr.servers["GET /error-row"]); n != 3 {
						t.Errorf("%d server spans, want 3", n)
					}
					for _, s := range tr.children(t, "GET /error-row", 1) {
						if s.Name != "SELECT no_such_table_spill" {
							t.Errorf("span %q, want %q", s.Name, "SELECT no_such_table_spill")
						}
						if s.StatusCode != ptrace.StatusCodeError {
							t.Errorf("%q: status %v, want Error", s.Name, s.StatusCode)
						}
						want := app.common()
						want["db.query.text"] = "SELECT n FROM no_such_table_spill WHERE id = $1"
						want["error.type"] = db.errCode
						want["db.response.status_code"] = db.errCode
						checkAttrs(t, s, want)
					}
				})
			}
		})
	}
}

// checkSpillSite checks where query_ret of (*DB).QueryContext is placed
// in the /error-row handler: on an emulated instruction with the error
// words read from the frame where there are cookies, else at the return
// address (the test above is about that site).
func checkSpillSite(t *testing.T, pid int, cookies bool) {
	t.Helper()
	tg, err := probe.NewTarget(pid, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	mgr, err := probe.NewManager(tg)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range mgr.Check([]probe.Probe{databasesql.Probe{}}) {
		for _, hp := range st.Placements {
			if hp.Symbol != "database/sql.(*DB).QueryContext" || hp.Return == nil {
				continue
			}
			found := false
			for _, s := range hp.Return.Sites {
				bx, okBX := s.Slot(binary.RBX)
				cx, okCX := s.Slot(binary.RCX)
				switch {
				case cookies && s.Emulated && okBX && okCX:
					t.Logf("query_ret at %#x in %s: error from SP+%#x, SP+%#x", s.Addr, s.Caller, bx, cx)
					found = true
				case !cookies && (okBX || okCX):
					t.Errorf("without cookies: site %+v reads from the frame", s)
				}
			}
			if cookies && !found {
				t.Fatalf("(*DB).QueryContext: %v %+v (%s), want a site with the error in the frame", hp.Return.Kind, hp.Return.Sites, hp.Return.Why)
			}
			return
		}
	}
	t.Fatal("no placement for (*DB).QueryContext")
}
