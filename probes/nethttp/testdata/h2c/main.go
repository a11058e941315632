// Command h2c is the HTTP/2 fixture: one listener serving cleartext
// HTTP/2 through golang.org/x/net/http2/h2c (and HTTP/1.1 on the same
// port), and a second one serving HTTP/2 over TLS with net/http's own
// HTTP/2 ("listening on H2C_ADDR" then "tls on TLS_ADDR").
package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
)

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintln(w, r.Proto)
	})
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusServiceUnavailable)
	})
	tlsSrv := httptest.NewUnstartedServer(mux)
	tlsSrv.EnableHTTP2 = true
	tlsSrv.StartTLS()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("tls on", tlsSrv.Listener.Addr())
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, h2c.NewHandler(mux, &http2.Server{}))
}
