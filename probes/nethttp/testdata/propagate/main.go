// Command propagate is the fixture of the outgoing propagation test: its
// handlers call /leaf/{via} of the same server, which answers with the
// traceparent header values it received. Its patterns have no method, so
// that it builds and routes the same on Go 1.19 (no method patterns
// before 1.22).
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
)

// appTraceparent is the header /own sets itself.
const appTraceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

var (
	base   string
	client = &http.Client{Transport: &http.Transport{}}
)

// call sends req and copies the response body to w.
func call(w http.ResponseWriter, req *http.Request) {
	resp, err := client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	io.Copy(w, resp.Body)
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/leaf/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join(r.Header.Values("Traceparent"), ","))
		if ts := r.Header.Values("Tracestate"); len(ts) > 0 {
			fmt.Fprint(w, " ", strings.Join(ts, ","))
		}
	})
	mux.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", base+"/leaf/call", nil)
		call(w, req)
	})
	mux.HandleFunc("/post", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "POST", base+"/leaf/post", strings.NewReader("body"))
		req.Header.Set("Content-Type", "text/plain")
		call(w, req)
	})
	mux.HandleFunc("/own", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", base+"/leaf/own", nil)
		req.Header.Set("Traceparent", appTraceparent)
		call(w, req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	base = "http://" + ln.Addr().String()
	fmt.Printf("listening on %s\n", ln.Addr())
	if err := http.Serve(ln, mux); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
