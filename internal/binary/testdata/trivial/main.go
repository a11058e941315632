// Command trivial is a fixture built outside module mode.
package main

import "fmt"

func main() { fmt.Println("trivial") }
