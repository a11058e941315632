//go:build !otel

package main

import (
	"context"
	"net/http"
)

func setupTracing(context.Context) (func(context.Context) error, error) {
	return func(context.Context) error { return nil }, nil
}

func wrapHandler(h http.Handler) http.Handler { return h }

func driverName() string { return "sqlite" }
