// Command linkall links net/http (server and client), database/sql with
// every receiver type, the OpenTelemetry global API and the companion sdk,
// for the manager's tests, which read the binary and never run it. Run
// alone, it serves one request to itself and exits.
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

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"

	"github.com/sonde-go/auto/sdk"
)

// nullDriver refuses every connection: enough to link database/sql.
type nullDriver struct{}

func (nullDriver) Open(string) (driver.Conn, error) { return nil, errors.New("no database") }

func queries(ctx context.Context, db *sql.DB) error {
	var errs []error
	_, err := db.QueryContext(ctx, "SELECT 1")
	errs = append(errs, err)
	_, err = db.ExecContext(ctx, "SELECT 1")
	errs = append(errs, err)
	if tx, err := db.BeginTx(ctx, nil); err == nil {
		_, err = tx.QueryContext(ctx, "SELECT 1")
		errs = append(errs, err)
		_, err = tx.ExecContext(ctx, "SELECT 1")
		errs = append(errs, err, tx.Rollback())
	}
	if c, err := db.Conn(ctx); err == nil {
		_, err = c.QueryContext(ctx, "SELECT 1")
		errs = append(errs, err)
		_, err = c.ExecContext(ctx, "SELECT 1")
		errs = append(errs, err, c.Close())
	}
	if st, err := db.PrepareContext(ctx, "SELECT 1"); err == nil {
		_, err = st.QueryContext(ctx)
		errs = append(errs, err)
		_, err = st.ExecContext(ctx)
		errs = append(errs, err, st.Close())
	}
	return errors.Join(errs...)
}

func main() {
	sql.Register("null", nullDriver{})
	db, err := sql.Open("null", "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, span := otel.Tracer("linkall").Start(r.Context(), "manual")
		defer span.End()
		sdk.SpanFromContext(ctx).SetAttributes(attribute.Bool("linkall", true))
		ctx, own := sdk.TracerProvider().Tracer("linkall").Start(ctx, "own")
		defer own.End()
		fmt.Fprintln(w, queries(ctx, db))
	}))
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	resp.Body.Close()
}
