package databasesql_test

import (
	"path/filepath"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestUnprivileged runs the dbapp scenario with sonde as uid 65534 holding
// only the capabilities the capability table documents
// (e2etest.RunUnprivileged): against a same-user app and, with
// cap_sys_ptrace, a root one, the spans of TestDBAppSpans' parse+include
// run (9 server spans, 14 database spans: names, attributes, parents);
// with one capability removed, the feature it switches off reported and
// the app still answering.
func TestUnprivileged(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/dbapp")
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			var app dbApp
			e2etest.RunUnprivileged(t, e2etest.Scenario{
				Start: func(t *testing.T, tg e2etest.Target) []*e2etest.Proc {
					dsn := db.dsn(t)
					if db.driver == "sqlite" { // a file the app's user may write
						dsn = filepath.Join(tg.DataDir(t, "sqlite"), "dbapp.db") + "?_pragma=busy_timeout(5000)"
					}
					proc := tg.Start(t, bin, "DB_DRIVER="+db.driver, "DB_DSN="+dsn, "TABLE=items")
					app = dbApp{db: db, dsn: dsn, base: "http://" + proc.Addr, pid: proc.Cmd.Process.Pid}
					return []*e2etest.Proc{proc}
				},
				Check: func(t *testing.T, _ []*e2etest.Proc, attach func(t *testing.T) *otlptest.Receiver, _ e2etest.Features) {
					app.attach = attach
					app.parseAndInclude(t)
				},
				Serves: func(t *testing.T, _ []*e2etest.Proc) {
					for _, p := range []string{"/query-ctx", "/tx", "/prepared"} {
						if s := get(t, "GET", app.base+p, nil); s != 200 {
							t.Errorf("GET %s: status %d after sonde gave up", p, s)
						}
					}
				},
			})
		})
	}
}
