// Command producer is the kafka-go producer fixture: an HTTP server whose
// handler sends a batch of messages with one WriteMessages call, to the
// broker at $KAFKA_ADDR. GET /produce?n=N&topic=T[&own=1] sends N messages
// keyed key-0..; with own=1 each carries the app's own traceparent
// ($OWN_TRACEPARENT).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/segmentio/kafka-go"
)

func main() {
	w := &kafka.Writer{Addr: kafka.TCP(os.Getenv("KAFKA_ADDR")), Balancer: &kafka.Hash{}, BatchSize: 1000,
		BatchTimeout: 10e6, AllowAutoTopicCreation: true}
	http.HandleFunc("/produce", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		topic := r.URL.Query().Get("topic")
		msgs := make([]kafka.Message, n)
		for i := range msgs {
			msgs[i] = kafka.Message{Topic: topic, Key: []byte("key-" + strconv.Itoa(i)), Value: []byte("value")}
			if r.URL.Query().Get("own") == "1" {
				msgs[i].Headers = []kafka.Header{{Key: "traceparent", Value: []byte(os.Getenv("OWN_TRACEPARENT"))}}
			}
		}
		if err := w.WriteMessages(r.Context(), msgs...); err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(rw, "sent", n)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, nil)
}
