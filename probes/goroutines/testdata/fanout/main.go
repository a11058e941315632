// Command fanout is the goroutine fan-out fixture: HTTP handlers that run
// ctx-less database/sql queries on goroutines of their own (WaitGroup,
// errgroup), and a worker pool started during the first request that then
// serves every request's jobs.
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
	"sync"

	"golang.org/x/sync/errgroup"
)

type fakeDriver struct{}

func (fakeDriver) Open(string) (driver.Conn, error) { return fakeConn{}, nil }

type fakeConn struct{}

func (fakeConn) Prepare(string) (driver.Stmt, error) { return nil, errors.New("no") }
func (fakeConn) Close() error                        { return nil }
func (fakeConn) Begin() (driver.Tx, error)           { return nil, errors.New("no") }

func (fakeConn) QueryContext(context.Context, string, []driver.NamedValue) (driver.Rows, error) {
	return nil, errors.New("no table")
}

type job struct {
	ctx  context.Context
	done chan struct{}
}

var (
	db       *sql.DB
	jobs     = make(chan job)
	poolOnce sync.Once
)

// worker serves jobs: one query with the job's context, one without.
func worker() {
	for j := range jobs {
		db.QueryContext(j.ctx, "SELECT job")
		db.Query("SELECT stale")
		close(j.done)
	}
}

func main() {
	sql.Register("fake", fakeDriver{})
	var err error
	if db, err = sql.Open("fake", ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/wg", func(w http.ResponseWriter, r *http.Request) {
		var wg sync.WaitGroup
		for _, q := range []string{"SELECT a", "SELECT b"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				db.Query(q)
			}()
		}
		wg.Wait()
	})
	http.HandleFunc("/errgroup", func(w http.ResponseWriter, r *http.Request) {
		var g errgroup.Group
		for _, q := range []string{"SELECT c", "SELECT d"} {
			g.Go(func() error {
				var nested sync.WaitGroup
				nested.Add(1)
				go func() { // two levels
					defer nested.Done()
					db.Query("SELECT nested")
				}()
				_, err := db.Query(q)
				nested.Wait()
				return err
			})
		}
		g.Wait()
	})
	http.HandleFunc("/pool", func(w http.ResponseWriter, r *http.Request) {
		poolOnce.Do(func() { go worker() })
		j := job{ctx: r.Context(), done: make(chan struct{})}
		jobs <- j
		<-j.done
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, nil)
}
