//go:build !go1.27

package main

import "net/http"

// limits does nothing before Go 1.27, which has no header value count
// limit.
func limits(*http.Server) {}
