package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

// tracer makes the example's manual spans (the OpenTelemetry global API,
// no SDK installed).
var tracer = otel.Tracer("github.com/sonde-go/auto/examples/todo")

const (
	maxBodyBytes = 1 << 20 // largest request body accepted
	maxTitleLen  = 500     // longest title accepted, in bytes
)

// server holds what the handlers share.
type server struct {
	db     *sql.DB
	insert *sql.Stmt // insertSQL, prepared once at start
	log    *slog.Logger
}

// newServer prepares the statements the handlers use.
func newServer(ctx context.Context, db *sql.DB, log *slog.Logger) (*server, error) {
	insert, err := db.PrepareContext(ctx, insertSQL)
	if err != nil {
		return nil, fmt.Errorf("preparing insert: %w", err)
	}
	return &server{db: db, insert: insert, log: log}, nil
}

// close releases the prepared statements; the caller closes the database.
func (s *server) close() error {
	return s.insert.Close()
}

// routes returns the service's request multiplexer.
func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /todos", s.listTodos)
	mux.HandleFunc("GET /todos/{id}", s.getTodo)
	mux.HandleFunc("POST /todos", s.createTodo)
	mux.HandleFunc("DELETE /todos/{id}", s.deleteTodo)
	mux.HandleFunc("GET /healthz", s.healthz)
	return mux
}

// listTodos answers GET /todos.
//
// It deliberately calls db.Query, which takes no context.Context: this is the
// "broken trace context" case from the article, where the database span has no
// link to the request's ctx. Sonde must still parent the query span under the
// HTTP server span (it correlates by goroutine too). Do not "fix" it to
// QueryContext.
//
// It also makes a manual span with the OpenTelemetry API, as in the
// article, with no SDK installed: a no-op unless Sonde runs with
// OTEL_GO_AUTO_GLOBAL=true, which makes it server span -> AllTodos ->
// database span.
func (s *server) listTodos(w http.ResponseWriter, r *http.Request) {
	_, span := tracer.Start(r.Context(), "AllTodos")
	defer span.End()
	todos, err := s.allTodos()
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "listing todos failed")
		s.internalError(w, "listing todos", err)
		return
	}
	span.SetAttributes(attribute.Int("todo.count", len(todos)))
	writeJSON(w, http.StatusOK, todos)
}

// allTodos reads every todo, with no context (see listTodos).
func (s *server) allTodos() ([]todo, error) {
	rows, err := s.db.Query(listSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	todos := []todo{}
	for rows.Next() {
		var t todo
		if err := rows.Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt); err != nil {
			return nil, fmt.Errorf("reading todo: %w", err)
		}
		todos = append(todos, t)
	}
	return todos, rows.Err()
}

// getTodo answers GET /todos/{id}, passing the request's context.
func (s *server) getTodo(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	var t todo
	err := s.db.QueryRowContext(r.Context(), getSQL, id).Scan(&t.ID, &t.Title, &t.Done, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, "todo not found")
		return
	}
	if err != nil {
		s.internalError(w, "getting todo", err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

// createRequest is the body of POST /todos.
type createRequest struct {
	Title string `json:"title"`
	Done  bool   `json:"done"`
}

// createTodo answers POST /todos. It runs the prepared insert inside a
// transaction (BeginTx, Tx.StmtContext, Commit).
func (s *server) createTodo(w http.ResponseWriter, r *http.Request) {
	var req createRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid JSON: trailing data after object")
		return
	}
	t := todo{
		Title: strings.TrimSpace(req.Title),
		Done:  req.Done,
		// Microseconds: the precision PostgreSQL keeps, so GET returns the
		// same value POST did.
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
	if t.Title == "" {
		writeError(w, http.StatusBadRequest, "title is required")
		return
	}
	if len(t.Title) > maxTitleLen {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("title is longer than %d bytes", maxTitleLen))
		return
	}

	ctx := r.Context()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.internalError(w, "beginning transaction", err)
		return
	}
	defer tx.Rollback() // no-op after Commit

	if err := tx.StmtContext(ctx, s.insert).QueryRowContext(ctx, t.Title, t.Done, t.CreatedAt).Scan(&t.ID); err != nil {
		s.internalError(w, "inserting todo", err)
		return
	}
	if err := tx.Commit(); err != nil {
		s.internalError(w, "committing todo", err)
		return
	}
	w.Header().Set("Location", "/todos/"+strconv.FormatInt(t.ID, 10))
	writeJSON(w, http.StatusCreated, t)
}

// deleteTodo answers DELETE /todos/{id} with ExecContext.
func (s *server) deleteTodo(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	res, err := s.db.ExecContext(r.Context(), deleteSQL, id)
	if err != nil {
		s.internalError(w, "deleting todo", err)
		return
	}
	n, err := res.RowsAffected()
	if err != nil {
		s.internalError(w, "deleting todo", err)
		return
	}
	if n == 0 {
		writeError(w, http.StatusNotFound, "todo not found")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// healthz answers GET /healthz: 200 when the database answers, else 503.
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.db.PingContext(r.Context()); err != nil {
		s.log.Error("health check", "err", err)
		writeError(w, http.StatusServiceUnavailable, "database unavailable")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// pathID parses the {id} path segment; on failure it writes 400 and
// returns false.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "id must be a positive integer")
		return 0, false
	}
	return id, true
}

// internalError logs err and answers 500 without exposing it.
func (s *server) internalError(w http.ResponseWriter, doing string, err error) {
	s.log.Error(doing, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do
}
