//go:build otel

package main

import (
	"context"
	"net/http"

	"github.com/XSAM/otelsql"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

var sqliteDriver = "sqlite"

// setupTracing installs an SDK TracerProvider with a batching OTLP/HTTP
// exporter (configured by the standard OTEL_EXPORTER_OTLP_* variables).
func setupTracing(ctx context.Context) (func(context.Context) error, error) {
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp))
	otel.SetTracerProvider(tp)
	name, err := otelsql.Register("sqlite")
	if err != nil {
		return nil, err
	}
	sqliteDriver = name
	return tp.Shutdown, nil
}

func wrapHandler(h http.Handler) http.Handler { return otelhttp.NewHandler(h, "server") }

func driverName() string { return sqliteDriver }
