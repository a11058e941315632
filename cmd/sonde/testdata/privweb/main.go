// Command privweb serves /hello and calls itself: after a start delay
// (argument 1, a duration, for an agent to attach), one GET a tick for
// the given count (argument 2), then it exits.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

func main() {
	delay, _ := time.ParseDuration(os.Args[1])
	n, _ := strconv.Atoi(os.Args[2])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	http.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "hi") })
	go http.Serve(ln, nil)
	time.Sleep(delay)
	url := "http://" + ln.Addr().String() + "/hello"
	for range n {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
}
