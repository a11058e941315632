// Command server is the reliability tests' target. GET /hello answers at
// once; GET /hold?n=N waits until N requests wait in /hold (at most a
// minute), then they all answer; GET /sleep?ms=M answers after M ms. It
// prints its PID and address.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// barrier releases the requests waiting in /hold once n wait.
type barrier struct {
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

func (b *barrier) wait(n int) bool {
	b.mu.Lock()
	if b.open == nil {
		b.open = make(chan struct{})
	}
	open := b.open
	b.waiting++
	if b.waiting >= n {
		close(b.open)
		b.open, b.waiting = nil, 0
	}
	b.mu.Unlock()
	select {
	case <-open:
		return true
	case <-time.After(time.Minute):
		return false
	}
}

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var b barrier
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("hello\n"))
	})
	mux.HandleFunc("GET /hold", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		if !b.wait(max(n, 1)) {
			http.Error(w, "not enough requests arrived", http.StatusGatewayTimeout)
			return
		}
		w.Write([]byte("released\n"))
	})
	mux.HandleFunc("GET /sleep", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		w.Write([]byte("slept\n"))
	})
	fmt.Println("pid", os.Getpid())
	fmt.Println("listening on", ln.Addr())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
}
