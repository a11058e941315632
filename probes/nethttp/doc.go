// Package nethttp instruments net/http: server spans from
// serverHandler.ServeHTTP (entry to return), with the incoming W3C
// traceparent continued and the Go 1.22+ ServeMux pattern as http.route.
package nethttp
