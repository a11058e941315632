// Command app is the benchmark's target: a minimal net/http handler
// (GET /hello) and a todo lookup like examples/todo's (GET /todos/{id}:
// one SQLite query). Built plain, it is what Sonde and peer agents
// instrument; built with -tags otel, it is instrumented in-process with
// the OpenTelemetry SDK (otelhttp and otelsql) exporting over OTLP/HTTP to
// OTEL_EXPORTER_OTLP_ENDPOINT. It does not link the OpenTelemetry API
// otherwise, so agents that skip such targets under lockdown still load.
//
// Environment: ADDR (listen address, default 127.0.0.1:8090), TODO_DB
// (SQLite file, default in the temporary directory).
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // registers driver "sqlite"
)

const schema = `CREATE TABLE IF NOT EXISTS todos (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	title TEXT NOT NULL,
	done BOOLEAN NOT NULL DEFAULT FALSE,
	created_at TIMESTAMP NOT NULL)`

const getSQL = `SELECT id, title, done, created_at FROM todos WHERE id = $1`

type todo struct {
	ID        int64     `json:"id"`
	Title     string    `json:"title"`
	Done      bool      `json:"done"`
	CreatedAt time.Time `json:"created_at"`
}

func main() {
	addr := envOr("ADDR", "127.0.0.1:8090")
	dbPath := envOr("TODO_DB", filepath.Join(os.TempDir(), "sonde-bench-"+strconv.Itoa(os.Getpid())+".db"))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	shutdown, err := setupTracing(ctx)
	if err != nil {
		log.Fatalf("tracing: %v", err)
	}
	db, err := openDB(ctx, dbPath)
	if err != nil {
		log.Fatalf("database: %v", err)
	}
	defer os.Remove(dbPath)
	defer db.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("hello\n"))
	})
	mux.HandleFunc("GET /todos/{id}", func(w http.ResponseWriter, r *http.Request) {
		getTodo(db, w, r)
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("listening: %v", err)
	}
	srv := &http.Server{Handler: wrapHandler(mux), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	log.Printf("bench app listening on %s pid %d", ln.Addr(), os.Getpid())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("serving: %v", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shutdown(sctx)
}

func openDB(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open(driverName(), "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, err
	}
	for i := 0; i < 10; i++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO todos (title, done, created_at) VALUES ($1, $2, $3)`,
			"item "+strconv.Itoa(i), i%2 == 0, time.Now().UTC()); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

func getTodo(db *sql.DB, w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		http.Error(w, "bad id", http.StatusBadRequest)
		return
	}
	var t todo
	err = db.QueryRowContext(r.Context(), getSQL, id).Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(t)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
