// Command hello prints its message: a fixture of testenv's own tests.
package main

import (
	"fmt"
	"runtime"
)

var msg = "hello"

func main() { fmt.Println(msg, runtime.Version()) }
