// Command spillapp is a fixture for return sites whose caller stores the
// results to its frame and overwrites their registers before its next
// direct call (what (*DB).QueryRowContext does with QueryContext's).
package main

import (
	"errors"
	"fmt"
	"os"
)

type item struct{ v int }

var errNegative = errors.New("negative")

// lookup returns (*item, error): the error in BX and CX.
//
//go:noinline
func lookup(n int) (*item, error) {
	if n < 0 {
		return nil, errNegative
	}
	return &item{v: n}, nil
}

// combine takes three arguments: AX, BX and CX.
//
//go:noinline
func combine(a, b, c int) int { return a*b - c }

// use keeps lookup's results across the call to combine, whose arguments
// overwrite BX and CX: it stores the error's type word (BX), which it
// tests, not its data word (CX).
//
//go:noinline
func use(n int) int {
	it, err := lookup(n)
	k := combine(n, n*2, n*3)
	if err != nil {
		return -k
	}
	return it.v + k
}

// useErr keeps the whole error across the call to combine: both its
// words are stored before BX and CX are overwritten.
//
//go:noinline
func useErr(n int) (int, error) {
	it, err := lookup(n)
	k := combine(n, n*2, n*3)
	if err != nil {
		return -k, err
	}
	return it.v + k, nil
}

func main() {
	v, err := useErr(len(os.Args))
	fmt.Println(use(len(os.Args)), use(-len(os.Args)), v, err)
}
