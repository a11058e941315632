// Command oneshot is an HTTP server that answers one request to /hello and
// exits with code 3: a fixture for `sonde run`.
package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	served := make(chan struct{}, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s\n", r.PathValue("name"))
		select {
		case served <- struct{}{}:
		default:
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Printf("listening on %s\n", ln.Addr())
	<-served
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // waits for the response to be written
	os.Exit(3)
}
