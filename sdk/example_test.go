package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/sdk"
)

// Attributes, an event and a status set in a handler land on the eBPF
// server span of the request. With no agent attached (as here), the calls
// do nothing.
func ExampleSpanFromContext() {
	handler := func(w http.ResponseWriter, r *http.Request) {
		span := sdk.SpanFromContext(r.Context())
		span.SetAttributes(attribute.String("user.id", "42"), attribute.Int("cart.items", 3))
		span.AddEvent("cart.loaded")
		if err := errors.New("payment declined"); err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		fmt.Println("recording:", span.IsRecording())
	}
	handler(httptest.NewRecorder(), httptest.NewRequest("GET", "/checkout", nil))
	// Output: recording: false
}

// A manual span of the sdk's TracerProvider: the agent exports it as the
// child of the eBPF span it starts in (the request's server span) and as the
// parent of the eBPF spans started in its context (the query below).
func ExampleTracerProvider() {
	tracer := sdk.TracerProvider().Tracer("example.com/todo", trace.WithInstrumentationVersion("1.0.0"))

	allTodos := func(ctx context.Context) error {
		ctx, span := tracer.Start(ctx, "AllTodos", trace.WithAttributes(attribute.Int("page", 1)))
		defer span.End()
		_ = ctx // db.QueryContext(ctx, ...): its eBPF span is the child of AllTodos
		err := errors.New("database is closed")
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		return err
	}
	fmt.Println(allTodos(context.Background()))
	// Output: database is closed
}
