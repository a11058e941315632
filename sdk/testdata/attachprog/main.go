// Command attachprog is a minimal app using the sdk, built by the sdk's
// tests to check what the agent looks for in a binary: the attach state in
// the data, once, and the hook functions.
package main

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sonde-go/auto/sdk"
)

func main() {
	ctx, span := sdk.TracerProvider().Tracer("attachprog").Start(context.Background(), "main")
	sdk.SpanFromContext(ctx).SetAttributes(attribute.String("k", "v"))
	span.End()
	fmt.Println(span.IsRecording())
}
