//go:build !go1.22

package main

import (
	"fmt"
	"net/http"
	"strings"
)

// routes adds the routes of routes.go as prefix patterns, for Go before
// 1.22 (no method or wildcard patterns, no Request.PathValue).
func routes(mux *http.ServeMux) {
	mux.HandleFunc("/hello/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		fmt.Fprintf(w, "hello %s\n", strings.TrimPrefix(r.URL.Path, "/hello/"))
	})
	mux.HandleFunc("/items/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.WriteHeader(http.StatusCreated)
	})
}
