// Command globalapp is the OpenTelemetry global API test fixture: an HTTP
// server whose handlers make manual spans with otel.Tracer and no SDK
// installed, as in the article, around database/sql calls. With
// OWN_PROVIDER=1 it installs its own TracerProvider, which prints each
// span it exports as a line "exported NAME".
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// errNoTable is what every query of the fake database returns.
var errNoTable = errors.New("no such table: todos")

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{}, nil }

type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errNoTable }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errNoTable }

// QueryContext makes database/sql skip Prepare.
func (fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, errNoTable
}

var tracer = otel.Tracer("globalapp", trace.WithInstrumentationVersion("v1.2.3"), trace.WithSchemaURL("https://opentelemetry.io/schemas/1.26.0"))

type app struct{ db *sql.DB }

// allTodos is the article's handler: a manual span around a query whose
// error it records.
func (a *app) allTodos(w http.ResponseWriter, r *http.Request) {
	ctx, span := tracer.Start(r.Context(), "AllTodos", trace.WithAttributes(
		attribute.String("todo.filter", "open"),
		attribute.Int64("todo.limit", 50),
		attribute.Float64("todo.ratio", 0.25),
		attribute.Bool("todo.cached", false),
		attribute.StringSlice("todo.tags", []string{"a", "b"}),
		attribute.Int64Slice("todo.ids", []int64{1, 2, 3}),
		attribute.Float64Slice("todo.weights", []float64{0.5, 1.5}),
		attribute.BoolSlice("todo.flags", []bool{true, false}),
	))
	defer span.End()
	span.AddEvent("querying", trace.WithAttributes(attribute.Int("attempt", 1)))
	_, err := a.db.QueryContext(ctx, "SELECT id, title FROM todos")
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, "listing todos failed")
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	fmt.Fprintln(w, "ok")
}

// goroutineChild: a ctx-less query on the goroutine of a manual span.
func (a *app) goroutineChild(w http.ResponseWriter, r *http.Request) {
	_, span := tracer.Start(r.Context(), "NoContext")
	a.db.Query("SELECT 1") //nolint: the missing context is the point
	span.End()
	fmt.Fprintln(w, "ok")
}

// big makes a span with n attributes and m events, each value vlen bytes.
func big(w http.ResponseWriter, r *http.Request, n, m, vlen int) {
	_, span := tracer.Start(r.Context(), fmt.Sprintf("Big%d", n))
	v := strings.Repeat("v", vlen)
	for i := 0; i < n; i++ {
		span.SetAttributes(attribute.String(fmt.Sprintf("attr.%03d", i), v))
	}
	for i := 0; i < m; i++ {
		span.AddEvent(fmt.Sprintf("event.%02d", i), trace.WithAttributes(attribute.Int("i", i)))
	}
	span.SetStatus(codes.Error, "big")
	span.End()
	fmt.Fprintln(w, "ok")
}

// printer is the app's own exporter.
type printer struct{}

func (printer) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	for _, s := range spans {
		fmt.Println("exported", s.Name())
	}
	return nil
}
func (printer) Shutdown(context.Context) error { return nil }

func main() {
	if os.Getenv("OWN_PROVIDER") == "1" {
		otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(printer{})))
	}
	sql.Register("fake", fakeDriver{})
	db, err := sql.Open("fake", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a := &app{db: db}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /todos", a.allTodos)
	mux.HandleFunc("GET /nocontext", a.goroutineChild)
	mux.HandleFunc("GET /ids", func(w http.ResponseWriter, r *http.Request) {
		_, span := tracer.Start(r.Context(), "IDs")
		sc := span.SpanContext()
		span.End()
		fmt.Fprintln(w, sc.TraceID(), sc.SpanID(), sc.IsValid())
	})
	mux.HandleFunc("GET /big", func(w http.ResponseWriter, r *http.Request) { big(w, r, 300, 50, 16) })
	mux.HandleFunc("GET /huge", func(w http.ResponseWriter, r *http.Request) { big(w, r, 1000, 10, 100) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, mux)
}
