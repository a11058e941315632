package databasesql_test

import (
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// The switches of the statement handling (read by auto.WithEnv).
const (
	envInclude = "OTEL_GO_AUTO_INCLUDE_DB_STATEMENT"
	envRaw     = "OTEL_GO_AUTO_DB_STATEMENT_RAW"
	envParse   = "OTEL_GO_AUTO_PARSE_DB_STATEMENT"
)

// database is one database the fixture runs against.
type database struct {
	name    string // db.system.name
	driver  string
	dsn     func(t *testing.T) string
	errCode string // db.response.status_code of a missing table
}

var databases = []database{
	{name: "postgresql", driver: "postgres", dsn: postgresDSN, errCode: "42P01"},
	{name: "sqlite", driver: "sqlite", errCode: "1", dsn: func(t *testing.T) string {
		return filepath.Join(t.TempDir(), "dbapp.db") + "?_pragma=busy_timeout(5000)"
	}},
}

func TestDBAppSpans(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/dbapp")
	for _, db := range databases {
		t.Run(db.name, func(t *testing.T) {
			dsn := db.dsn(t)
			proc := e2etest.Start(t, bin, "DB_DRIVER="+db.driver, "DB_DSN="+dsn, "TABLE=items")
			app := dbApp{db: db, dsn: dsn, base: "http://" + proc.Addr, pid: proc.Cmd.Process.Pid}
			// One Instrumentation after the other on the same process,
			// each with its own settings.
			t.Run("parse+include", app.parseAndInclude)
			t.Run("defaults", app.defaults)
			t.Run("off", app.off)
			t.Run("raw", app.raw)
		})
	}
}

// dbApp is a running fixture.
type dbApp struct {
	db   database
	dsn  string
	base string
	pid  int
	// attach, when set, runs sonde out of process (TestUnprivileged)
	// instead of e2etest.Instrument; instrument then returns no
	// Instrumentation.
	attach func(t *testing.T) *otlptest.Receiver
}

// instrument attaches Sonde with the switches in env (unset ones at their
// defaults: statement masked, spans named "{operation} {table}").
func (a dbApp) instrument(t *testing.T, env map[string]string) (*otlptest.Receiver, *auto.Instrumentation) {
	for _, k := range []string{envInclude, envRaw, envParse} {
		t.Setenv(k, env[k])
	}
	if a.attach != nil {
		return a.attach(t), nil
	}
	rcv := otlptest.Start(t)
	return rcv, e2etest.Instrument(t, a.pid, rcv)
}

// common are the attributes every span of this database has.
func (a dbApp) common() map[string]any {
	want := map[string]any{"db.system.name": a.db.name}
	if a.db.name == "postgresql" {
		u, _ := url.Parse(a.dsn)
		port := int64(5432) // lib/pq's default
		if p, err := strconv.ParseInt(u.Port(), 10, 64); err == nil {
			port = p
		}
		want["server.address"] = u.Hostname()
		want["server.port"] = port
		want["db.namespace"] = strings.TrimPrefix(u.Path, "/")
	} else {
		want["server.address"] = nil
		want["server.port"] = nil
	}
	return want
}

func (a dbApp) parseAndInclude(t *testing.T) {
	rcv, _ := a.instrument(t, map[string]string{envInclude: "true", envParse: "true"})
	paths := []string{"/query-ctx", "/query", "/exec", "/prepared", "/tx", "/conn", "/fanout", "/error", "/long"}
	for _, p := range paths {
		status := get(t, "GET", a.base+p, nil)
		if (status == 500) != (p == "/error") {
			t.Fatalf("GET %s: status %d", p, status)
		}
	}
	// 9 server spans, 14 database spans.
	tr := treesOf(rcv.WaitSpans(t, 23, 20*time.Second))
	if len(tr.other) > 0 {
		t.Errorf("database spans outside any request: %v", names(tr.other))
	}

	type want struct {
		name, text, op, coll string
	}
	check := func(path string, wants ...want) []otlptest.Span {
		t.Helper()
		spans := tr.children(t, path, len(wants))
		for i, w := range wants {
			attrs := a.common()
			attrs["db.query.text"] = w.text
			attrs["db.operation.name"] = w.op
			attrs["db.collection.name"] = w.coll
			attrs["sonde.db.query.truncated"] = nil
			if w.text == "" {
				delete(attrs, "db.query.text")
			}
			s := spans[i]
			if s.Name != w.name {
				t.Errorf("%s: span %d named %q, want %q", path, i, s.Name, w.name)
			}
			checkAttrs(t, s, attrs)
			if path != "GET /error" && s.StatusCode != ptrace.StatusCodeUnset {
				t.Errorf("%s: %q status %v", path, s.Name, s.StatusCode)
			}
		}
		return spans
	}
	check("GET /query-ctx", want{"SELECT items", "SELECT id, name FROM items WHERE id = $1 AND name <> ?", "SELECT", "items"})
	check("GET /query", want{"SELECT items", "SELECT id, name FROM items WHERE n < ?", "SELECT", "items"})
	check("GET /exec", want{"UPDATE items", "UPDATE items SET n = n + ? WHERE id = $1", "UPDATE", "items"})
	check("GET /prepared", want{"SELECT items", "SELECT name FROM items WHERE id = $1", "SELECT", "items"})
	check("GET /tx",
		want{"UPDATE items", "UPDATE items SET n = n + ? WHERE id = ?", "UPDATE", "items"},
		want{"SELECT items", "SELECT n FROM items WHERE id = ?", "SELECT", "items"},
		want{"SELECT items", "SELECT name FROM items WHERE id = $1", "SELECT", "items"})
	check("GET /conn", want{"SELECT items", "SELECT count(*) FROM items", "SELECT", "items"})
	sibling := want{"SELECT items", "SELECT name FROM items WHERE id = $1", "SELECT", "items"}
	check("GET /fanout", sibling, sibling, sibling, sibling)

	e := check("GET /error", want{"SELECT no_such_table_items", "SELECT * FROM no_such_table_items", "SELECT", "no_such_table_items"})[0]
	if e.StatusCode != ptrace.StatusCodeError {
		t.Errorf("/error: status %v, want Error", e.StatusCode)
	}
	checkAttrs(t, e, map[string]any{"error.type": a.db.errCode, "db.response.status_code": a.db.errCode})

	long := tr.children(t, "GET /long", 1)[0]
	text := long.Str("db.query.text")
	if long.Name != "SELECT items" || long.Attrs["sonde.db.query.truncated"] != true ||
		!strings.HasPrefix(text, "SELECT id FROM items WHERE name <> ? AND id > ? AND id > ?") || len(text) > 4096 ||
		strings.Contains(text, "secret") {
		t.Errorf("/long: name %q, truncated %v, text (%d bytes) %.80q...", long.Name, long.Attrs["sonde.db.query.truncated"], len(text), text)
	}
}

func (a dbApp) defaults(t *testing.T) {
	rcv, inst := a.instrument(t, nil)
	stats := enableStats(t)
	before, multi := runCounts(t, a.pid)

	// 35 operations: /tx runs three.
	const rounds = 5
	for range rounds {
		for _, p := range []string{"/query-ctx", "/exec", "/prepared", "/tx", "/conn"} {
			if s := get(t, "GET", a.base+p, nil); s != 200 {
				t.Fatalf("GET %s: status %d", p, s)
			}
		}
	}
	const ops = rounds * 7
	after, _ := runCounts(t, a.pid)
	tr := treesOf(rcv.WaitSpans(t, rounds*5+ops, 20*time.Second))
	st := inst.Stats()
	if st.DecodeErrors != 0 || st.InFlight["db_inflight"] != 0 || st.InFlight["spans_by_goroutine"] != 0 {
		t.Errorf("after the requests: %d decode errors, in flight %v; want none", st.DecodeErrors, st.InFlight)
	}
	if total := tr.dbSpans(); total != ops {
		t.Errorf("%d database spans, want %d", total, ops)
	}
	for p, n := range map[string]int{"GET /exec": 1, "GET /prepared": 1, "GET /tx": 3, "GET /conn": 1} {
		tr.children(t, p, n)
	}
	// By default: the statement with its literals masked, and the span
	// named by what it parses to.
	s := tr.children(t, "GET /query-ctx", 1)[0]
	want := a.common()
	want["db.query.text"] = "SELECT id, name FROM items WHERE id = $1 AND name <> ?"
	want["db.operation.name"] = "SELECT"
	want["db.collection.name"] = "items"
	want["sonde.db.query.truncated"] = nil
	checkAttrs(t, s, want)
	if s.Name != "SELECT items" {
		t.Errorf("name %q, want %q", s.Name, "SELECT items")
	}

	switch {
	case !stats || !multi:
		t.Logf("probe hits per query not measured (statistics %v, uprobe_multi links %v)", stats, multi)
	default:
		hits := after - before
		t.Logf("probe hits: %d for %d queries (%.2f per query)", hits, ops, float64(hits)/ops)
		if hits < 2*ops || hits > 2*ops+2 { // +2: a morestack re-entry
			t.Errorf("probe hits %d for %d queries, want 2 per query", hits, ops)
		}
	}
}

// off: with both switches off, no statement and spans named by the
// database system.
func (a dbApp) off(t *testing.T) {
	rcv, _ := a.instrument(t, map[string]string{envInclude: "false", envParse: "false"})
	get(t, "GET", a.base+"/query-ctx", nil)
	tr := treesOf(rcv.WaitSpans(t, 2, 20*time.Second))
	s := tr.children(t, "GET /query-ctx", 1)[0]
	want := a.common()
	for _, k := range []string{"db.query.text", "db.operation.name", "db.collection.name", "sonde.db.query.truncated"} {
		want[k] = nil
	}
	checkAttrs(t, s, want)
	if s.Name != a.db.name {
		t.Errorf("name %q, want %q (no operation known without parsing)", s.Name, a.db.name)
	}
}

func (a dbApp) raw(t *testing.T) {
	rcv, _ := a.instrument(t, map[string]string{envInclude: "true", envRaw: "true"})
	get(t, "GET", a.base+"/query-ctx", nil)
	get(t, "GET", a.base+"/long", nil)
	tr := treesOf(rcv.WaitSpans(t, 4, 20*time.Second))

	q := tr.children(t, "GET /query-ctx", 1)[0]
	want := a.common()
	want["db.query.text"] = "SELECT id, name FROM items WHERE id = $1 AND name <> 'secret'"
	want["db.operation.name"] = "SELECT" // parsing is on by default
	checkAttrs(t, q, want)
	if q.Name != "SELECT items" {
		t.Errorf("name %q, want %q", q.Name, "SELECT items")
	}

	long := tr.children(t, "GET /long", 1)[0]
	text := long.Str("db.query.text")
	if len(text) != 4096 || !strings.HasPrefix(text, "SELECT id FROM items WHERE name <> 'secret' AND id > 0") ||
		long.Attrs["sonde.db.query.truncated"] != true {
		t.Errorf("/long: %d bytes, truncated %v, text %.80q...", len(text), long.Attrs["sonde.db.query.truncated"], text)
	}
}
