package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// envTestDatabaseURL names a PostgreSQL database the tests may use; each
// test run works in a schema of its own and drops it afterwards.
const envTestDatabaseURL = "TODO_TEST_DATABASE_URL"

func TestAPI(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		testAPI(t, sqliteConfig(t))
	})
	t.Run("postgres", func(t *testing.T) {
		testAPI(t, postgresConfig(t))
	})
}

// sqliteConfig returns a config for a fresh SQLite file in a temp dir.
func sqliteConfig(t *testing.T) config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "todo.db")
	cfg, err := configFromEnv(mapEnv(map[string]string{envDBPath: path}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// postgresConfig returns a config for a fresh schema in the database named
// by TODO_TEST_DATABASE_URL; that unset is a testenv.Require failure (a
// skip here, a failure in CI).
func postgresConfig(t *testing.T) config {
	t.Helper()
	base := os.Getenv(envTestDatabaseURL)
	testenv.Require(t, base != "", "%s is not set; set it to e.g. postgres://todo:password@127.0.0.1:5432/todo?sslmode=disable to run against PostgreSQL", envTestDatabaseURL)
	admin, err := sql.Open(driverPostgres, base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })

	b := make([]byte, 6)
	rand.Read(b)
	schema := "todo_test_" + hex.EncodeToString(b)
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("creating schema in %s: %v", envTestDatabaseURL, err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})

	// lib/pq passes unknown URL parameters to the server as run-time
	// settings, so every connection of the pool uses the new schema.
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	cfg, err := configFromEnv(mapEnv(map[string]string{envDatabaseURL: u.String()}))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// newTestServer opens cfg's database and serves the API on an httptest server.
func newTestServer(t *testing.T, cfg config) (*httptest.Server, *sql.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := openDB(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := newServer(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	ts := httptest.NewServer(s.routes())
	t.Cleanup(ts.Close)
	return ts, db
}

// response is what a test request got back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func do(t *testing.T, ts *httptest.Server, method, path, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// expect checks the status and, for JSON bodies, decodes into v (if not nil).
func expect(t *testing.T, r response, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if status == http.StatusNoContent {
		if len(r.body) != 0 {
			t.Fatalf("204 with body %q", r.body)
		}
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if v == nil {
		return
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func expectError(t *testing.T, r response, status int) {
	t.Helper()
	var e errorBody
	expect(t, r, status, &e)
	if e.Error == "" {
		t.Fatalf("error body has no message: %s", r.body)
	}
}

func sameTodo(t *testing.T, got, want todo) {
	t.Helper()
	if got.ID != want.ID || got.Title != want.Title || got.Done != want.Done || !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("todo = %+v, want %+v", got, want)
	}
}

func listAll(t *testing.T, ts *httptest.Server) []todo {
	t.Helper()
	var all []todo
	r := do(t, ts, "GET", "/todos", "")
	expect(t, r, http.StatusOK, &all)
	if all == nil {
		t.Fatalf("list body %s: want a JSON array", r.body)
	}
	return all
}

func create(t *testing.T, ts *httptest.Server, body string) todo {
	t.Helper()
	var got todo
	r := do(t, ts, "POST", "/todos", body)
	expect(t, r, http.StatusCreated, &got)
	if loc, want := r.header.Get("Location"), fmt.Sprintf("/todos/%d", got.ID); loc != want {
		t.Fatalf("Location = %q, want %q", loc, want)
	}
	return got
}

// testAPI drives every endpoint against the database in cfg.
func testAPI(t *testing.T, cfg config) {
	ts, _ := newTestServer(t, cfg)

	expect(t, do(t, ts, "GET", "/healthz", ""), http.StatusOK, nil)
	if got := listAll(t, ts); len(got) != 0 {
		t.Fatalf("fresh database lists %d todos", len(got))
	}

	// Create, then read back through list and get.
	before := time.Now().Add(-time.Second)
	first := create(t, ts, `{"title":"  buy milk  "}`)
	second := create(t, ts, `{"title":"write tests","done":true}`)
	if first.ID <= 0 || second.ID <= first.ID {
		t.Fatalf("ids %d, %d: want positive and increasing", first.ID, second.ID)
	}
	if first.Title != "buy milk" || first.Done || !second.Done {
		t.Fatalf("created %+v and %+v", first, second)
	}
	if first.CreatedAt.Before(before) || first.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("created_at %v is not now", first.CreatedAt)
	}
	all := listAll(t, ts)
	if len(all) != 2 {
		t.Fatalf("list has %d todos, want 2", len(all))
	}
	sameTodo(t, all[0], first)
	sameTodo(t, all[1], second)
	var got todo
	expect(t, do(t, ts, "GET", fmt.Sprintf("/todos/%d", second.ID), ""), http.StatusOK, &got)
	sameTodo(t, got, second)

	// Missing and malformed IDs.
	expectError(t, do(t, ts, "GET", "/todos/987654321", ""), http.StatusNotFound)
	expectError(t, do(t, ts, "DELETE", "/todos/987654321", ""), http.StatusNotFound)
	for _, id := range []string{"abc", "0", "-3", "1.5", "99999999999999999999"} {
		expectError(t, do(t, ts, "GET", "/todos/"+id, ""), http.StatusBadRequest)
		expectError(t, do(t, ts, "DELETE", "/todos/"+id, ""), http.StatusBadRequest)
	}

	// Bad bodies create nothing.
	for name, body := range map[string]string{
		"empty":         ``,
		"truncated":     `{"title":`,
		"not object":    `["a"]`,
		"wrong type":    `{"title":42}`,
		"unknown field": `{"title":"a","priority":1}`,
		"no title":      `{"done":true}`,
		"blank title":   `{"title":"   "}`,
		"long title":    `{"title":"` + strings.Repeat("x", maxTitleLen+1) + `"}`,
		"trailing data": `{"title":"a"} {"title":"b"}`,
	} {
		t.Run(name, func(t *testing.T) {
			expectError(t, do(t, ts, "POST", "/todos", body), http.StatusBadRequest)
		})
	}
	expectError(t, do(t, ts, "POST", "/todos", `{"title":"`+strings.Repeat("x", maxBodyBytes)+`"}`), http.StatusRequestEntityTooLarge)
	if got := listAll(t, ts); len(got) != 2 {
		t.Fatalf("after bad requests list has %d todos, want 2", len(got))
	}

	// Routing: wrong method.
	if r := do(t, ts, "PUT", fmt.Sprintf("/todos/%d", first.ID), `{}`); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("PUT status = %d, want 405", r.status)
	}

	// Delete.
	expect(t, do(t, ts, "DELETE", fmt.Sprintf("/todos/%d", first.ID), ""), http.StatusNoContent, nil)
	expectError(t, do(t, ts, "GET", fmt.Sprintf("/todos/%d", first.ID), ""), http.StatusNotFound)
	expectError(t, do(t, ts, "DELETE", fmt.Sprintf("/todos/%d", first.ID), ""), http.StatusNotFound)
	all = listAll(t, ts)
	if len(all) != 1 {
		t.Fatalf("after delete list has %d todos, want 1", len(all))
	}
	sameTodo(t, all[0], second)

	// Concurrent writers: each create must succeed (SQLite busy handling).
	const workers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body := fmt.Sprintf(`{"title":"w%d-%d"}`, w, i)
				res, err := ts.Client().Post(ts.URL+"/todos", "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					continue
				}
				res.Body.Close()
				if res.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("concurrent create: status %d", res.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := listAll(t, ts); len(got) != 1+workers*each {
		t.Fatalf("after concurrent creates list has %d todos, want %d", len(got), 1+workers*each)
	}
}

// TestDatabaseDown checks that a failing database gives 500 and 503, not a
// hang or a panic.
func TestDatabaseDown(t *testing.T) {
	ts, db := newTestServer(t, sqliteConfig(t))
	db.Close()
	expectError(t, do(t, ts, "GET", "/todos", ""), http.StatusInternalServerError)
	expectError(t, do(t, ts, "GET", "/todos/1", ""), http.StatusInternalServerError)
	expectError(t, do(t, ts, "POST", "/todos", `{"title":"a"}`), http.StatusInternalServerError)
	expectError(t, do(t, ts, "DELETE", "/todos/1", ""), http.StatusInternalServerError)
	expectError(t, do(t, ts, "GET", "/healthz", ""), http.StatusServiceUnavailable)
}

func TestConfigFromEnv(t *testing.T) {
	defaultPath := filepath.Join(os.TempDir(), defaultDBFile)
	tests := []struct {
		name       string
		env        map[string]string
		wantAddr   string
		wantDriver string
		wantDesc   string
		wantErr    error
	}{
		{name: "defaults", wantAddr: defaultAddr, wantDriver: driverSQLite, wantDesc: defaultPath},
		{name: "ADDR", env: map[string]string{envAddr: "0.0.0.0:3000", envPort: "9"}, wantAddr: "0.0.0.0:3000", wantDriver: driverSQLite, wantDesc: defaultPath},
		{name: "PORT", env: map[string]string{envPort: "3000"}, wantAddr: ":3000", wantDriver: driverSQLite, wantDesc: defaultPath},
		{name: "TODO_DB", env: map[string]string{envDBPath: "/var/lib/todo.db"}, wantAddr: defaultAddr, wantDriver: driverSQLite, wantDesc: "/var/lib/todo.db"},
		{
			name:       "postgres",
			env:        map[string]string{envDatabaseURL: "postgres://todo:password@db:5432/todo?sslmode=disable", envDBPath: "/ignored"},
			wantAddr:   defaultAddr,
			wantDriver: driverPostgres,
			wantDesc:   "postgres://todo:xxxxx@db:5432/todo?sslmode=disable",
		},
		{name: "postgresql scheme", env: map[string]string{envDatabaseURL: "postgresql://db/todo"}, wantAddr: defaultAddr, wantDriver: driverPostgres, wantDesc: "postgresql://db/todo"},
		{name: "mysql scheme", env: map[string]string{envDatabaseURL: "mysql://db/todo"}, wantErr: errBadDatabaseURL},
		{name: "question mark in path", env: map[string]string{envDBPath: "/tmp/a?b.db"}, wantErr: errBadDBPath},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := configFromEnv(mapEnv(tt.env))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.addr != tt.wantAddr || got.driver != tt.wantDriver || got.dbDesc != tt.wantDesc {
				t.Fatalf("got addr %q driver %q db %q, want %q %q %q", got.addr, got.driver, got.dbDesc, tt.wantAddr, tt.wantDriver, tt.wantDesc)
			}
			if got.driver == driverPostgres && got.dsn != tt.env[envDatabaseURL] {
				t.Fatalf("dsn %q, want DATABASE_URL unchanged", got.dsn)
			}
			if got.driver == driverSQLite && !strings.HasPrefix(got.dsn, got.dbDesc+"?") {
				t.Fatalf("dsn %q does not start with the path", got.dsn)
			}
		})
	}
}

// TestRunShutdown starts the whole service and stops it as a signal would.
func TestRunShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, sqliteConfig(t), ln, log) }()

	url := "http://" + ln.Addr().String() + "/healthz"
	var res *http.Response
	t.Cleanup(cancel) // also when the service never answers
	testenv.Eventually(t, 10*time.Second, func() error {
		res, err = http.Get(url)
		return err
	})
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz status %d", res.StatusCode)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after cancel")
	}
	out := logs.String()
	if n := strings.Count(out, `msg="todo listening"`); n != 1 {
		t.Errorf("want one start line, got %d in:\n%s", n, out)
	}
	if !strings.Contains(out, "addr="+ln.Addr().String()) {
		t.Errorf("start line lacks the address:\n%s", out)
	}
	if _, err := http.Get(url); err == nil {
		t.Error("service still answers after shutdown")
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
