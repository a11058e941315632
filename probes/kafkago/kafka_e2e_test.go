package kafkago_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	// The fixtures under testdata build in this module, which go mod tidy
	// does not see: this import keeps their kafka-go in go.mod.
	_ "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

const (
	batch          = 100
	ownTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)

// broker starts an in-process Kafka-protocol broker (kfake) on loopback.
func broker(t *testing.T, topics ...string) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, topics...), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatalf("starting kfake: %v", err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func get(t *testing.T, url string) string {
	t.Helper()
	c := &http.Client{Timeout: 60 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// kafkaApps starts the producer and the consumer fixtures, each
// instrumented, against one broker.
func kafkaApps(t *testing.T, producer, consumer string, topics ...string) (string, string, *otlptest.Receiver) {
	t.Helper()
	testenv.RequireRoot(t)
	addr := broker(t, topics...)
	env := []string{"KAFKA_ADDR=" + addr, "OWN_TRACEPARENT=" + ownTraceparent}
	prod := e2etest.Start(t, producer, env...)
	cons := e2etest.Start(t, consumer, env...)
	rcv := otlptest.Start(t)
	e2etest.Instrument(t, prod.Cmd.Process.Pid, rcv)
	e2etest.Instrument(t, cons.Cmd.Process.Pid, rcv)
	return "http://" + prod.Addr, "http://" + cons.Addr, rcv
}

// TestKafkaSpans: a handler's WriteMessages of 100 messages gives 100
// PRODUCER spans, children of its server span, with the messaging
// attributes; reading them in another process gives 100 CONSUMER spans;
// messages that carry the app's own traceparent are continued by the
// consumer spans.
func TestKafkaSpans(t *testing.T) {
	base, consBase, rcv := kafkaApps(t, testenv.Build(t, "testdata/producer"), testenv.Build(t, "testdata/consumer"), "orders", "own")
	checkKafka(t, base, consBase, rcv)
}

func checkKafka(t *testing.T, base, consBase string, rcv *otlptest.Receiver) {
	t.Helper()
	get(t, base+fmt.Sprintf("/produce?n=%d&topic=orders", batch))
	spans := rcv.WaitSpans(t, batch+1, 30*time.Second)
	var server otlptest.Span
	for _, s := range spans {
		if s.Kind == ptrace.SpanKindServer {
			server = s
		}
	}
	keys := map[string]bool{}
	for _, s := range spans {
		if s.Kind != ptrace.SpanKindProducer {
			continue
		}
		if s.Name != "send orders" || s.ParentID != server.SpanID || s.TraceID != server.TraceID {
			t.Errorf("producer span %q parent %s, want \"send orders\" under the server span %s", s.Name, s.ParentID, server.SpanID)
		}
		for k, v := range map[string]any{"messaging.system": "kafka", "messaging.operation.name": "send",
			"messaging.operation.type": "send", "messaging.destination.name": "orders", "messaging.batch.message_count": int64(batch)} {
			if s.Attrs[k] != v {
				t.Errorf("producer span %s = %v, want %v", k, s.Attrs[k], v)
			}
		}
		keys[s.Str("messaging.kafka.message.key")] = true
	}
	if len(keys) != batch || !keys["key-0"] || !keys[fmt.Sprintf("key-%d", batch-1)] {
		t.Errorf("%d distinct producer message keys, want %d", len(keys), batch)
	}

	lines := strings.Split(strings.TrimSpace(get(t, consBase+fmt.Sprintf("/consume?n=%d&topic=orders", batch))), "\n")
	all := rcv.WaitSpans(t, 2*batch+2, 30*time.Second)
	got := 0
	offsets := map[string]bool{}
	for _, s := range all {
		if s.Kind != ptrace.SpanKindConsumer {
			continue
		}
		got++
		if s.Name != "receive orders" || s.Attrs["messaging.consumer.group.name"] != "sonde-group" ||
			s.Attrs["messaging.operation.type"] != "receive" || !strings.HasPrefix(s.Str("messaging.kafka.message.key"), "key-") {
			t.Errorf("consumer span %q attributes %v", s.Name, s.Attrs)
		}
		offsets[fmt.Sprint(s.Attrs["messaging.destination.partition.id"], " ", s.Attrs["messaging.kafka.offset"], " ", s.Attrs["messaging.kafka.message.key"])] = true
	}
	if got != batch || len(lines) != batch {
		t.Errorf("%d consumer spans, %d messages read; want %d", got, len(lines), batch)
	}
	for _, l := range lines {
		if !offsets[l] {
			t.Errorf("message %q read but no consumer span has its partition, offset and key", l)
		}
	}

	// The app's own context on each message: the consumer continues it.
	get(t, base+"/produce?n=10&topic=own&own=1")
	get(t, consBase+"/consume?n=10&topic=own")
	testenv.Eventually(t, 20*time.Second, func() error {
		n := 0
		for _, s := range rcv.Spans() {
			if s.Name == "receive own" && s.TraceID.String() == "4bf92f3577b34da6a3ce929d0e0e4736" && s.ParentID.String() == "00f067aa0ba902b7" {
				n++
			}
		}
		if n != 10 {
			return fmt.Errorf("%d of 10 consumer spans continue the app's trace", n)
		}
		return nil
	})
}
