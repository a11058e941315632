// Command errwords prints the itab and data words of some error values,
// one "tab data" line each in a fixed order, then waits to be killed: the
// target of Target.ErrorType's test.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"
)

func main() {
	for _, err := range []error{context.Canceled, context.DeadlineExceeded, io.EOF, io.ErrUnexpectedEOF,
		&net.OpError{Op: "dial", Err: io.EOF}, errors.New("boom"), fmt.Errorf("wrapped: %w", io.EOF)} {
		w := (*[2]uintptr)(unsafe.Pointer(&err))
		fmt.Println(w[0], w[1])
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}
