// Command fakedb is the old-toolchain fixture of the databasesql end-to-end
// tests: an HTTP server whose handlers use database/sql with an in-process
// driver unknown to Sonde. It needs only the standard library (Go 1.19+).
// It prints "listening on ADDR" once it accepts connections.
package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

func main() {
	sql.Register("fakedb", fakeDriver{})
	db, err := sql.Open("fakedb", "fake://db.invalid:1234/things")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stmt, err := db.PrepareContext(context.Background(), "SELECT id FROM things WHERE id = ?")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	handle := func(path string, f func(r *http.Request) error) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if err := f(r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	handle("/query", func(r *http.Request) error {
		return drain(db.Query("SELECT id FROM things"))
	})
	handle("/query-ctx", func(r *http.Request) error {
		return drain(db.QueryContext(r.Context(), "SELECT id FROM things WHERE id > 0"))
	})
	handle("/exec", func(r *http.Request) error {
		_, err := db.Exec("DELETE FROM things WHERE id = 7")
		return err
	})
	handle("/tx", func(r *http.Request) error {
		tx, err := db.BeginTx(r.Context(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.Exec("UPDATE things SET n = 1"); err != nil {
			return err
		}
		if err := drain(tx.Query("SELECT n FROM things")); err != nil {
			return err
		}
		return tx.Commit()
	})
	handle("/prepared", func(r *http.Request) error {
		return drain(stmt.Query(1))
	})
	handle("/error", func(r *http.Request) error {
		return drain(db.QueryContext(r.Context(), "SELECT fail FROM things"))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func drain(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// fakeDriver answers every statement with two rows, and fails those that
// mention "fail" with a *fakeError.
type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return conn{}, nil }

type conn struct{}

func (conn) Prepare(q string) (driver.Stmt, error) { return stmt{q: q}, nil }
func (conn) Close() error                          { return nil }
func (conn) Begin() (driver.Tx, error)             { return tx{}, nil }

type tx struct{}

func (tx) Commit() error   { return nil }
func (tx) Rollback() error { return nil }

type stmt struct{ q string }

func (stmt) Close() error  { return nil }
func (stmt) NumInput() int { return -1 }

func (s stmt) Exec([]driver.Value) (driver.Result, error) {
	if strings.Contains(s.q, "fail") {
		return nil, &fakeError{code: "F0001"}
	}
	return driver.RowsAffected(1), nil
}

func (s stmt) Query([]driver.Value) (driver.Rows, error) {
	if strings.Contains(s.q, "fail") {
		return nil, &fakeError{code: "F0001"}
	}
	return &rows{n: 2}, nil
}

type rows struct{ n int64 }

func (*rows) Columns() []string { return []string{"id"} }
func (*rows) Close() error      { return nil }

func (r *rows) Next(dest []driver.Value) error {
	if r.n == 0 {
		return io.EOF
	}
	dest[0] = r.n
	r.n--
	return nil
}

type fakeError struct{ code string }

func (e *fakeError) Error() string { return "fake: " + e.code }
