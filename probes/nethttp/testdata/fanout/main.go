// Command fanout is the fixture of the nethttp client and correlation
// tests: its handlers call other handlers of the same server over HTTP in
// the ways real code does, with and without the request's context. Its
// patterns have no method, so that it builds and routes the same on Go
// 1.19 and 1.21 (no method patterns before 1.22).
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

type key struct{}

var base string

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2000, MaxConnsPerHost: 0}}

func call(req *http.Request) {
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/leaf", func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("sleep")); err == nil {
			time.Sleep(d)
		}
		fmt.Fprintln(w, "leaf")
	})
	mux.HandleFunc("/fanout", func(w http.ResponseWriter, r *http.Request) {
		// (a) the request's own context
		req, _ := http.NewRequestWithContext(r.Context(), "GET", base+"/leaf?via=ctx", nil)
		call(req)
		// (b) no context at all
		if resp, err := http.Get(base + "/leaf?via=get"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		// (c) another goroutine, with a derived context
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
			defer cancel()
			ctx = context.WithValue(ctx, key{}, "v")
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/leaf?via=goroutine", nil)
			call(req)
		}()
		<-done
		// a failing call: nothing listens on port 1
		if resp, err := http.Get("http://127.0.0.1:1/refused?user=x"); err == nil {
			resp.Body.Close()
		}
		// a 404 from the leaf server
		req, _ = http.NewRequestWithContext(r.Context(), "GET", base+"/missing", nil)
		call(req)
	})
	mux.HandleFunc("/one", func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", base+"/leaf?"+r.URL.RawQuery, nil)
		call(req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	base = "http://" + ln.Addr().String()
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: mux}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
