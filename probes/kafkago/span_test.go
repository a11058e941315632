package kafkago

import (
	"encoding/binary"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/sonde-go/auto/internal/pipeline"
)

func encode(t *testing.T, ev kafkaKafkaEvent) []byte {
	t.Helper()
	b, err := binary.Append(nil, binary.LittleEndian, &ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func attr(kvs []attribute.KeyValue, k string) (attribute.Value, bool) {
	for _, kv := range kvs {
		if string(kv.Key) == k {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

func TestDecode(t *testing.T) {
	d := decoder{errType: func(uint64, uint64) string { return "github.com/segmentio/kafka-go.WriteErrors" }}
	clk := pipeline.NewClock()
	ev := kafkaKafkaEvent{Batch: 3, KeyLen: 5}
	ev.Hdr.Sc.TraceId[0], ev.Hdr.Sc.SpanId[0] = 1, 1
	copy(ev.Topic[:], "orders")
	copy(ev.Key[:], "key-1")
	ev.ErrTab = 0x10
	s, err := d.send(encode(t, ev), clk)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "send orders" || s.Status.Code.String() != "Error" {
		t.Errorf("name %q status %v", s.Name, s.Status)
	}
	for k, want := range map[string]string{"messaging.kafka.message.key": "key-1", "error.type": "github.com/segmentio/kafka-go.WriteErrors",
		"messaging.destination.name": "orders"} {
		if v, _ := attr(s.Attributes, k); v.AsString() != want {
			t.Errorf("%s = %q, want %q", k, v.AsString(), want)
		}
	}
	if v, _ := attr(s.Attributes, "messaging.batch.message_count"); v.AsInt64() != 3 {
		t.Errorf("batch count %v", v)
	}

	// A key that is not UTF-8, or was cut, is not reported.
	ev.ErrTab, ev.Key[0] = 0, 0xff
	s, _ = d.receive(encode(t, ev), clk)
	if _, ok := attr(s.Attributes, "messaging.kafka.message.key"); ok || s.Name != "receive orders" {
		t.Errorf("invalid UTF-8 key reported: %v", s.Attributes)
	}
	ev.Key[0], ev.KeyLen = 'k', 500
	s, _ = d.receive(encode(t, ev), clk)
	if _, ok := attr(s.Attributes, "messaging.kafka.message.key"); ok {
		t.Errorf("truncated key reported")
	}
}
