// Command std links every standard-library struct the probes read: the
// net/http server, client and bundled HTTP/2, database/sql with a driver,
// contexts and maps. It is only built (internal/tools/offsetgen), never run.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"net"
	"net/http"
	"os"
)

type drv struct{}

func (drv) Open(string) (driver.Conn, error) { return nil, errors.New("no") }

func main() {
	if len(os.Args) < 2 {
		return
	}
	sql.Register("x", drv{})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), drv{}, 1))
	defer cancel()
	db, _ := sql.Open("x", os.Args[1])
	db.QueryContext(ctx, "q")
	db.ExecContext(ctx, "e")
	if tx, err := db.BeginTx(ctx, nil); err == nil {
		tx.QueryContext(ctx, "q")
		tx.ExecContext(ctx, "e")
	}
	if c, err := db.Conn(ctx); err == nil {
		c.QueryContext(ctx, "q")
		c.ExecContext(ctx, "e")
	}
	if st, err := db.PrepareContext(ctx, "p"); err == nil {
		st.QueryContext(ctx)
		st.ExecContext(ctx)
	}
	m := map[string]int{os.Args[1]: 1}
	w := bufio.NewWriter(os.Stdout)
	w.WriteString(os.Args[1])
	w.Flush()
	addr, _ := net.ResolveTCPAddr("tcp", os.Args[1])
	println(m[os.Args[0]], addr.Port)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {})
	go http.ListenAndServeTLS(os.Args[1], "c", "k", nil)
	go http.ListenAndServe(os.Args[1], nil)
	req, _ := http.NewRequestWithContext(ctx, "GET", os.Args[1], nil)
	http.DefaultClient.Do(req)
}
