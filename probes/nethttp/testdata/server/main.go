// Command server is the net/http fixture of the nethttp end-to-end tests.
// It prints "listening on ADDR" once it accepts connections. Its routes
// are in routes.go (Go 1.22+: method and wildcard patterns) and
// routes_go121.go (older Go: the same paths with prefix patterns); on Go
// 1.27+, MAX_HEADER_VALUES sets Server.MaxHeaderValueCount (limits.go).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	mux := http.NewServeMux()
	routes(mux)
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/silent", func(w http.ResponseWriter, r *http.Request) {})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: mux}
	limits(srv)
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
