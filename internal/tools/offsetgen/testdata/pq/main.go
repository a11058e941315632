// Command pq links the driver error type that database/sql spans read.
// It is only built (internal/tools/offsetgen), never run.
package main

import (
	"database/sql"
	"errors"
	"os"

	"github.com/lib/pq"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	db, _ := sql.Open(os.Args[1], os.Args[2])
	_, err := db.Exec("q")
	var e *pq.Error
	if errors.As(err, &e) {
		println(e.Error())
	}
}
