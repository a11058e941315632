//go:build go1.27

package main

import (
	"net/http"
	"os"
	"strconv"
)

// limits sets Server.MaxHeaderValueCount (Go 1.27+, default 500: a
// request with more header values is answered 431 before any handler
// runs) from MAX_HEADER_VALUES, for the tests that send thousands.
func limits(srv *http.Server) {
	if n, err := strconv.Atoi(os.Getenv("MAX_HEADER_VALUES")); err == nil {
		srv.MaxHeaderValueCount = n
	}
}
