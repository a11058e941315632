// Command dies fails before it listens: Start must report it at once.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Println("opening the database")
	fmt.Fprintln(os.Stderr, "no such table: items")
	os.Exit(1)
}
