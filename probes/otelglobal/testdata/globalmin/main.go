// Command globalmin is the smallest user of the OpenTelemetry global API,
// built by the tests against each otel release: an HTTP server whose
// handler makes one manual span with otel.Tracer and no SDK installed, and
// answers with the span's trace and span IDs as the app sees them.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
)

func main() {
	tracer := otel.Tracer("globalmin")
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		_, span := tracer.Start(r.Context(), "Manual")
		span.SetAttributes(attribute.String("k", "v"))
		span.SetStatus(codes.Error, "failed")
		sc := span.SpanContext()
		span.End()
		fmt.Fprintln(w, sc.TraceID(), sc.SpanID())
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, nil)
}
