package kafkago

import "github.com/sonde-go/auto/internal/probe"

// Attached implements probe.Attacher: it says once that produced messages
// carry no trace context from Sonde. Adding a header needs memory in the
// target for it, which Sonde does not allocate; a consumer continues only
// the traces the app's messages carry themselves.
func (Probe) Attached(t *probe.Target) error {
	t.Logger.Info("kafka-go: produced messages get no traceparent header from Sonde (propagation is not implemented); consumer spans continue the app's own traceparent headers")
	return nil
}
