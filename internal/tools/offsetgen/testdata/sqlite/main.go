// Command sqlite links the driver error type that database/sql spans read.
// It is only built (internal/tools/offsetgen), never run.
package main

import (
	"database/sql"
	"errors"
	"os"

	"modernc.org/sqlite"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	db, _ := sql.Open(os.Args[1], os.Args[2])
	_, err := db.Exec("q")
	var e *sqlite.Error
	if errors.As(err, &e) {
		println(e.Error())
	}
}
