// Command globals has a global flag pointer read by one function and a
// context key type referenced by another, for the symbol-less lookups of
// refs.go.
package main

import (
	"context"
	"fmt"
	"os"
)

var flag = new(bool)

type key struct{}

//go:noinline
func read() *bool { return flag }

//go:noinline
func withKey(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, 1) }

func main() {
	ctx := withKey(context.Background())
	fmt.Println(*read(), ctx.Value(key{}), len(os.Args), passes())
}

var other = new(int)

//go:noinline
func use(p *bool) bool { return *p }

//go:noinline
func passes() bool {
	*other++
	return use(flag)
}
