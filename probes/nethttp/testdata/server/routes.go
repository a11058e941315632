//go:build go1.22

package main

import (
	"fmt"
	"net/http"
)

// routes adds the routes with method and wildcard patterns (Go 1.22+).
func routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.PathValue("name"))
	})
	mux.HandleFunc("POST /items/{id}/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	})
}
