// Command sdkapp is the companion sdk's test fixture: an HTTP server whose
// handlers annotate the eBPF spans of their requests and queries through
// sdk.SpanFromContext, and make spans with sdk.TracerProvider() around
// database/sql calls.
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

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/sdk"
)

var errNoTable = errors.New("no such table: orders")

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{}, nil }

type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errNoTable }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errNoTable }

// QueryContext runs inside the database span: what it sets through the sdk
// lands on that span.
func (fakeConn) QueryContext(ctx context.Context, q string, _ []driver.NamedValue) (driver.Rows, error) {
	sdk.SpanFromContext(ctx).SetAttributes(attribute.String("driver.note", "inside the query"), attribute.Int("driver.rows", 0))
	return nil, errNoTable
}

type app struct{ db *sql.DB }

// annotate sets attributes, an event and an error status on the request's
// eBPF server span, then queries.
func (a *app) annotate(w http.ResponseWriter, r *http.Request) {
	span := sdk.SpanFromContext(r.Context())
	span.SetAttributes(attribute.String("user.id", "u-42"), attribute.Int("cart.items", 3),
		attribute.Float64("cart.total", 12.5), attribute.Bool("cart.gift", true),
		attribute.StringSlice("cart.skus", []string{"a-1", "b-2"}))
	span.AddEvent("checkout.started", trace.WithAttributes(attribute.Int("step", 1)))
	a.db.QueryContext(r.Context(), "SELECT * FROM orders")
	span.SetStatus(codes.Error, "payment declined")
	fmt.Fprintln(w, "ok", span.IsRecording())
}

// provider makes a span of the sdk's TracerProvider around a query, and a
// child of it, and answers with what the app sees of their IDs.
func (a *app) provider(w http.ResponseWriter, r *http.Request) {
	tr := sdk.TracerProvider().Tracer("sdkapp", trace.WithInstrumentationVersion("v0.0.7"))
	ctx, span := tr.Start(r.Context(), "Checkout", trace.WithAttributes(attribute.String("order.id", "o-1")),
		trace.WithSpanKind(trace.SpanKindInternal))
	_, err := a.db.QueryContext(ctx, "SELECT * FROM orders")
	span.RecordError(err)
	span.SetStatus(codes.Error, "no orders")
	_, child := tr.Start(ctx, "Charge")
	child.AddEvent("charged")
	child.End()
	span.End()
	fmt.Fprintln(w, span.SpanContext().TraceID(), span.SpanContext().SpanID(),
		child.SpanContext().TraceID(), child.SpanContext().SpanID())
}

func main() {
	sql.Register("fake", fakeDriver{})
	db, err := sql.Open("fake", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	a := &app{db: db}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /annotate", a.annotate)
	mux.HandleFunc("GET /provider", a.provider)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, mux)
}
