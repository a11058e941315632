// Command listens prints its address, then optionally exits at once.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println("starting")
	fmt.Println("listening on", ln.Addr())
	if os.Getenv("EXIT_AFTER_LISTEN") != "" {
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(3)
		}
		c.Close()
	}
}
