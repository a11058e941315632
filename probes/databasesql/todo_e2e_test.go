package databasesql_test

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// The todo example's routes give the article's trace: a server span and,
// under it, the database span(s) of the request; one trace per request.
func TestTodoExample(t *testing.T) {
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "../../examples/todo")
	for _, db := range []struct {
		name string
		env  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "TODO_DB=" + filepath.Join(t.TempDir(), "todo.db") }},
		{"postgresql", func(t *testing.T) string { return "DATABASE_URL=" + postgresDSN(t) }},
	} {
		t.Run(db.name, func(t *testing.T) {
			base := startTodo(t, bin, db.env(t))
			// The defaults give the article's trace: statements with
			// their literals masked, spans named "{operation} {table}".
			t.Setenv(envInclude, "")
			t.Setenv(envParse, "")
			t.Setenv(envRaw, "")
			rcv := otlptest.Start(t)
			e2etest.Instrument(t, todoPID, rcv)

			resp, err := http.Post(base+"/todos", "application/json", strings.NewReader(`{"title":"buy milk"}`))
			if err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /todos: %v %v", resp, err)
			}
			var created struct{ ID int64 }
			json.NewDecoder(resp.Body).Decode(&created)
			resp.Body.Close()
			item := "/todos/" + strconv.FormatInt(created.ID, 10)
			for _, r := range []struct {
				method, path string
				status       int
			}{
				{"GET", "/todos", 200},
				{"GET", item, 200},
				{"DELETE", item, 204},
				{"GET", item, 404},
				{"GET", "/healthz", 200},
			} {
				if s := get(t, r.method, base+r.path, nil); s != r.status {
					t.Fatalf("%s %s: status %d, want %d", r.method, r.path, s, r.status)
				}
			}

			// 6 server spans, 5 database spans.
			tr := treesOf(rcv.WaitSpans(t, 11, 20*time.Second))
			if len(tr.other) > 0 || tr.dbSpans() != 5 {
				t.Errorf("%d database spans (%v outside requests), want 5", tr.dbSpans(), names(tr.other))
			}
			for _, c := range []struct {
				req, name, text string
				n               int
			}{
				{"POST /todos", "INSERT todos", "INSERT INTO todos (title, done, created_at) VALUES ($1, $2, $3) RETURNING id", 1},
				{"GET /todos", "SELECT todos", "SELECT id, title, done, created_at FROM todos ORDER BY id", 1},
				{"GET " + item, "SELECT todos", "SELECT id, title, done, created_at FROM todos WHERE id = $1", 1},
				{"DELETE " + item, "DELETE todos", "DELETE FROM todos WHERE id = $1", 1},
				{"GET /healthz", "", "", 0},
			} {
				for _, s := range tr.children(t, c.req, c.n) {
					if s.Name != c.name || s.Str("db.query.text") != c.text || s.Str("db.system.name") != db.name {
						t.Errorf("%s: span %q, text %q, system %q; want %q, %q, %q", c.req, s.Name,
							s.Str("db.query.text"), s.Str("db.system.name"), c.name, c.text, db.name)
					}
				}
			}
		})
	}
}

// todoPID is the pid of the todo process of the running subtest.
var todoPID int

// startTodo runs the todo example with env on a free port until the test
// ends and returns its base URL once it answers.
func startTodo(t *testing.T, bin string, env ...string) string {
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
	todoPID = cmd.Process.Pid
	base := "http://" + addr
	waitHTTP(t, base+"/healthz")
	return base
}
