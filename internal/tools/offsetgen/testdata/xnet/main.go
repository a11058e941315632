// Command xnet links golang.org/x/net/http2's server (through h2c). It is
// only built (internal/tools/offsetgen), never run.
package main

import (
	"net/http"
	"os"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) })
	http.ListenAndServe(os.Args[1], h2c.NewHandler(h, &http2.Server{}))
}
