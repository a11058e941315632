// Command dbapp is the database/sql fixture of the databasesql end-to-end
// tests: an HTTP server whose handlers each use one database/sql call style.
// DB_DRIVER ("postgres" or "sqlite") and DB_DSN select the database, TABLE
// names the table it creates. It prints "listening on ADDR" once it accepts
// connections.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"

	_ "github.com/lib/pq"
	_ "modernc.org/sqlite"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dbapp:", err)
		os.Exit(1)
	}
}

func run() error {
	table := os.Getenv("TABLE")
	db, err := sql.Open(os.Getenv("DB_DRIVER"), os.Getenv("DB_DSN"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+table+" (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0)"); err != nil {
		return fmt.Errorf("creating table: %w", err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO "+table+" (id, name) VALUES (1, 'one'), (2, 'two')"); err != nil {
		return fmt.Errorf("filling table: %w", err)
	}
	byID, err := db.PrepareContext(ctx, "SELECT name FROM "+table+" WHERE id = $1")
	if err != nil {
		return fmt.Errorf("preparing: %w", err)
	}
	// A statement longer than the probe's copy limit (4 KiB).
	long := "SELECT id FROM " + table + " WHERE name <> 'secret'" + strings.Repeat(" AND id > 0", 500)

	mux := http.NewServeMux()
	handle := func(pattern string, f func(r *http.Request) error) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := f(r); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
			}
		})
	}
	handle("/query-ctx", func(r *http.Request) error {
		rows, err := db.QueryContext(r.Context(), "SELECT id, name FROM "+table+" WHERE id = $1 AND name <> 'secret'", 1)
		if err != nil {
			return err
		}
		return drain(rows)
	})
	handle("/query", func(r *http.Request) error {
		rows, err := db.Query("SELECT id, name FROM " + table + " WHERE n < 42")
		if err != nil {
			return err
		}
		return drain(rows)
	})
	handle("/exec", func(r *http.Request) error {
		_, err := db.Exec("UPDATE "+table+" SET n = n + 1 WHERE id = $1", 2)
		return err
	})
	handle("/prepared", func(r *http.Request) error {
		var name string
		return byID.QueryRowContext(r.Context(), 1).Scan(&name)
	})
	handle("/tx", func(r *http.Request) error {
		ctx := r.Context()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, "UPDATE "+table+" SET n = n + 1 WHERE id = 1"); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow("SELECT n FROM " + table + " WHERE id = 1").Scan(&n); err != nil {
			return err
		}
		var name string
		if err := tx.StmtContext(ctx, byID).QueryRowContext(ctx, 2).Scan(&name); err != nil {
			return err
		}
		return tx.Commit()
	})
	handle("/conn", func(r *http.Request) error {
		conn, err := db.Conn(r.Context())
		if err != nil {
			return err
		}
		defer conn.Close()
		var n int
		return conn.QueryRowContext(r.Context(), "SELECT count(*) FROM "+table).Scan(&n)
	})
	handle("/fanout", func(r *http.Request) error {
		// Concurrent siblings sharing the request's context.
		errs := make(chan error, 4)
		for i := range 4 {
			go func() {
				rows, err := db.QueryContext(r.Context(), "SELECT name FROM "+table+" WHERE id = $1", i)
				if err == nil {
					err = drain(rows)
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				return err
			}
		}
		return nil
	})
	handle("/error", func(r *http.Request) error {
		rows, err := db.QueryContext(r.Context(), "SELECT * FROM no_such_table_"+table)
		if err != nil {
			return err
		}
		return drain(rows)
	})
	handle("/error-row", func(r *http.Request) error {
		// QueryRowContext's QueryContext is inlined here: its results
		// go to the Row on this frame before the call to Scan.
		var n int
		return db.QueryRowContext(r.Context(), "SELECT n FROM no_such_table_"+table+" WHERE id = $1", 1).Scan(&n)
	})
	handle("/long", func(r *http.Request) error {
		rows, err := db.QueryContext(r.Context(), long)
		if err != nil {
			return err
		}
		return drain(rows)
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	return http.Serve(ln, mux)
}

// drain reads every row, so that the connection returns to the pool.
func drain(rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}
