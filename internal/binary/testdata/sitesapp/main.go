// Command sitesapp is a fixture for probe site placement: functions called
// only directly, one whose address is taken, one called through an
// interface, one with results spilled before a branch.
package main

import (
	"fmt"
	"os"
	"strconv"
)

// direct is only ever called directly; each caller tests its result.
//
//go:noinline
func direct(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("negative %d", n)
	}
	s := make([]int, n%7+1)
	return len(s) + n, nil
}

// taken has its address stored in a func value.
//
//go:noinline
func taken(n int) int { return n*3 + len(os.Args) }

type shape interface{ area() int }

type square struct{ side int }

// area is called through the shape interface (an itab holds it).
//
//go:noinline
func (s square) area() int { return s.side * s.side }

var hook = taken

// measure calls area through the interface.
//
//go:noinline
func measure(s shape) int { return s.area() + 1 }

func main() {
	n := len(os.Args)
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	v, err := direct(n)
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	w, err := direct(v + 1)
	if err != nil {
		os.Exit(2)
	}
	var sh shape = square{side: w}
	fmt.Println(v, w, hook(w), measure(sh))
}
