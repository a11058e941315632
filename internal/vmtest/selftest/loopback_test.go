package selftest

import (
	"io"
	"net"
	"testing"
)

// TestLoopback checks that localhost works, as the probes' end-to-end tests
// (an HTTP server and client in one VM) need: /init sets lo up and the
// initrd has /etc/hosts.
func TestLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "localhost:0")
	if err != nil {
		t.Fatalf("listening on localhost: %v", err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write([]byte("pong"))
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("dialing %s: %v", ln.Addr(), err)
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "pong" {
		t.Fatalf("read %q, %v; want pong", b, err)
	}
	t.Logf("localhost is %s", ln.Addr())
}
