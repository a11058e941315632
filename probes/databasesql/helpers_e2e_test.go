package databasesql_test

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"go.opentelemetry.io/collector/pdata/ptrace"

	_ "github.com/lib/pq" // the tests' own PostgreSQL connection

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// envDatabaseURL names a PostgreSQL database the tests may create schemas
// in; .ci/run sets it.
const envDatabaseURL = "SONDE_TEST_DATABASE_URL"

// postgresDSN returns a DSN for a fresh schema of the database named by
// SONDE_TEST_DATABASE_URL; the schema is dropped when the test ends. The
// variable unset or the database not answering is a testenv.Require
// failure: a skip here, a failure in CI.
func postgresDSN(t *testing.T) string {
	t.Helper()
	raw := os.Getenv(envDatabaseURL)
	testenv.Require(t, raw != "", "%s is not set; set it to e.g. postgres://todo:password@127.0.0.1:5432/todo?sslmode=disable to test against PostgreSQL", envDatabaseURL)
	admin, err := sql.Open("postgres", raw)
	if err != nil {
		t.Fatalf("opening %s: %v", envDatabaseURL, err)
	}
	t.Cleanup(func() { admin.Close() })
	err = admin.Ping()
	testenv.Require(t, err == nil, "PostgreSQL at %s does not answer: %v", envDatabaseURL, err)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "sonde_sql_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parsing %s: %v", envDatabaseURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // lib/pq sends it as a session setting
	u.RawQuery = q.Encode()
	return u.String()
}

// get sends one request and returns the status code.
func get(t *testing.T, method, url string, body io.Reader) int {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// trees groups the DB spans under the server span of each request.
type trees struct {
	servers map[string][]otlptest.Span // url.path -> its server spans
	db      map[string][]otlptest.Span // server span ID -> its DB spans, by start
	other   []otlptest.Span            // DB spans with no server parent
}

func treesOf(spans []otlptest.Span) trees {
	tr := trees{servers: map[string][]otlptest.Span{}, db: map[string][]otlptest.Span{}}
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindServer {
			k := s.Str("http.request.method") + " " + s.Str("url.path")
			tr.servers[k] = append(tr.servers[k], s)
			tr.db[s.SpanID.String()] = nil
		}
	}
	for _, s := range spans {
		if !strings.HasSuffix(s.Scope, "/probes/databasesql") {
			continue
		}
		if l, ok := tr.db[s.ParentID.String()]; ok {
			tr.db[s.ParentID.String()] = append(l, s)
		} else {
			tr.other = append(tr.other, s)
		}
	}
	for _, l := range tr.db {
		sort.Slice(l, func(i, j int) bool { return l[i].Start.Before(l[j].Start) })
	}
	return tr
}

// dbSpans counts the DB spans.
func (tr trees) dbSpans() int {
	n := len(tr.other)
	for _, l := range tr.db {
		n += len(l)
	}
	return n
}

// children returns the DB spans under the server spans of path ("METHOD
// /path"), checking
// that each server span has n, each a CLIENT span in its trace, and that
// the requests made distinct traces.
func (tr trees) children(t *testing.T, path string, n int) []otlptest.Span {
	t.Helper()
	srvs := tr.servers[path]
	if len(srvs) == 0 {
		t.Errorf("%s: no server span", path)
		return make([]otlptest.Span, n)
	}
	var all []otlptest.Span
	traces := map[string]bool{}
	for _, srv := range srvs {
		traces[srv.TraceID.String()] = true
		kids := tr.db[srv.SpanID.String()]
		if len(kids) != n {
			t.Errorf("%s: %d DB spans under the server span, want %d: %v", path, len(kids), n, names(kids))
		}
		for _, s := range kids {
			if s.Kind != ptrace.SpanKindClient {
				t.Errorf("%s: %q kind %v, want Client", path, s.Name, s.Kind)
			}
			if s.TraceID != srv.TraceID {
				t.Errorf("%s: %q trace %s, want the server's %s", path, s.Name, s.TraceID, srv.TraceID)
			}
			if s.Start.Before(srv.Start) || s.End.After(srv.End) || !s.End.After(s.Start) {
				t.Errorf("%s: %q runs %v..%v, outside its server span %v..%v", path, s.Name, s.Start, s.End, srv.Start, srv.End)
			}
		}
		all = append(all, kids...)
	}
	if len(traces) != len(srvs) {
		t.Errorf("%s: %d requests made %d traces", path, len(srvs), len(traces))
	}
	if len(all) < n {
		all = append(all, make([]otlptest.Span, n-len(all))...)
	}
	return all
}

func names(spans []otlptest.Span) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

// checkAttrs compares attributes: a nil want value means "absent".
func checkAttrs(t *testing.T, s otlptest.Span, want map[string]any) {
	t.Helper()
	for k, v := range want {
		got, ok := s.Attrs[k]
		switch {
		case v == nil && ok:
			t.Errorf("%q: %s = %v, want none", s.Name, k, got)
		case v != nil && got != v:
			t.Errorf("%q: %s = %v (%T), want %v", s.Name, k, got, got, v)
		}
	}
}

// probePrograms are the BPF programs of this probe, by name.
var probePrograms = map[string]bool{
	"db_entry": true, "tx_entry": true, "conn_entry": true, "stmt_entry": true,
	"query_ret": true, "exec_ret": true,
}

// runCounts returns the summed run count of this probe's programs attached
// to pid through uprobe_multi links, and false when there are none (the
// perf-event fallback) or the kernel keeps no statistics.
func runCounts(t *testing.T, pid int) (uint64, bool) {
	t.Helper()
	it := new(link.Iterator)
	defer it.Close()
	seen := map[ebpf.ProgramID]bool{}
	var total uint64
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil || info.UprobeMulti() == nil {
			continue
		}
		if p, ok := info.UprobeMulti().Pid(); !ok || int(p) != pid || seen[info.Program] {
			continue
		}
		seen[info.Program] = true
		prog, err := ebpf.NewProgramFromID(info.Program)
		if err != nil {
			continue
		}
		pi, err := prog.Info()
		if err == nil && probePrograms[pi.Name] {
			if st, err := prog.Stats(); err == nil {
				total += st.RunCount
			}
		}
		prog.Close()
	}
	if err := it.Err(); err != nil {
		t.Logf("iterating links: %v", err)
	}
	return total, len(seen) > 0
}

// enableStats turns on BPF run statistics until the test ends.
func enableStats(t *testing.T) bool {
	c, err := ebpf.EnableStats(0) // BPF_STATS_RUN_TIME
	if err != nil {
		t.Logf("BPF run statistics unavailable: %v", err)
		return false
	}
	t.Cleanup(func() { c.Close() })
	return true
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return fmt.Errorf("%s did not answer: %w", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %s", url, resp.Status)
		}
		return nil
	})
}
