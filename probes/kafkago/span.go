package kafkago

import (
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/pipeline"
)

// decoder turns kafka events into spans for one target.
type decoder struct {
	errType func(tab, data uint64) string // error.type of an error value
}

// common decodes what send and receive spans share.
func (d decoder) common(raw []byte, clk *pipeline.Clock, kind trace.SpanKind) (tracetest.SpanStub, *kafkaKafkaEvent, error) {
	var ev kafkaKafkaEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, nil, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, kind)
	topic := pipeline.CString(ev.Topic[:])
	s.Attributes = []attribute.KeyValue{semconv.MessagingSystemKafka, semconv.MessagingDestinationName(topic)}
	key := ev.Key[:min(int(ev.KeyLen), len(ev.Key)-1)]
	if int(ev.KeyLen) < len(ev.Key) && len(key) > 0 && utf8.Valid(key) {
		s.Attributes = append(s.Attributes, semconv.MessagingKafkaMessageKey(string(key)))
	}
	if ev.ErrTab != 0 {
		typ := d.errType(ev.ErrTab, ev.ErrData)
		s.Attributes = append(s.Attributes, semconv.ErrorTypeKey.String(typ))
		s.Status = sdktrace.Status{Code: codes.Error}
	}
	return s, &ev, nil
}

// send: one PRODUCER span "send {topic}" per message of a WriteMessages
// call (messaging semantic conventions: a send span per message; the
// batch size as messaging.batch.message_count when it is more than one).
func (d decoder) send(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	s, ev, err := d.common(raw, clk, trace.SpanKindProducer)
	if err != nil {
		return s, err
	}
	s.Name = "send " + pipeline.CString(ev.Topic[:])
	s.Attributes = append(s.Attributes, semconv.MessagingOperationName("send"), semconv.MessagingOperationTypeSend)
	if ev.Batch > 1 {
		s.Attributes = append(s.Attributes, semconv.MessagingBatchMessageCount(int(ev.Batch)))
	}
	if ev.OwnContext != 0 {
		s.Attributes = append(s.Attributes, attribute.Bool("sonde.messaging.app_context", true))
	}
	return s, nil
}

// receive: one CONSUMER span "receive {topic}" per fetched message, whose
// parent is the message's creation context (its traceparent header) when
// it has one: the conventions allow the parent for a receive of a single
// message.
func (d decoder) receive(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	s, ev, err := d.common(raw, clk, trace.SpanKindConsumer)
	if err != nil {
		return s, err
	}
	s.Name = "receive " + pipeline.CString(ev.Topic[:])
	s.Attributes = append(s.Attributes,
		semconv.MessagingOperationName("receive"), semconv.MessagingOperationTypeReceive,
		semconv.MessagingDestinationPartitionID(strconv.FormatInt(ev.Partition, 10)),
		semconv.MessagingKafkaOffset(int(ev.Offset)))
	if g := pipeline.CString(ev.Group[:]); g != "" {
		s.Attributes = append(s.Attributes, semconv.MessagingConsumerGroupName(g))
	}
	return s, nil
}
