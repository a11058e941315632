// Command httpapp is a fixture: a net/http server with one module
// dependency.
package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/go-logr/logr"
)

type api struct{ log logr.Logger }

func (a *api) hello(w http.ResponseWriter, r *http.Request) {
	a.log.Info("hello", "path", r.URL.Path)
	fmt.Fprintln(w, "hello", r.URL.Path)
}

func main() {
	a := &api{log: logr.Discard()}
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", a.hello)
	addr := "127.0.0.1:0"
	if len(os.Args) > 1 {
		addr = os.Args[1]
	}
	if err := http.ListenAndServe(addr, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
