// Command target is the test fixture for package process: it prints the
// address and value of a global, waits for a line on stdin, then prints the
// global's value again and exits.
package main

import (
	"bufio"
	"fmt"
	"os"
	"unsafe"
)

var x int64 = 42

func main() {
	fmt.Printf("%#x %d\n", uintptr(unsafe.Pointer(&x)), x)
	bufio.NewReader(os.Stdin).ReadString('\n')
	fmt.Println(x)
}
