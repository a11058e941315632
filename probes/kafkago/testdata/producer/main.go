// Command producer is the kafka-go producer fixture: an HTTP server whose
// handler sends a batch of messages with one WriteMessages call, to the
// broker at $KAFKA_ADDR. GET /produce?n=N&topic=T[&own=1] sends N messages
// keyed key-0..; with own=1 each carries the app's own traceparent
// ($OWN_TRACEPARENT); with hdrs=full each carries one header of its own in a
// full slice, with hdrs=spare the same in a slice with room for one more.
// It answers "sent N headers H", H the headers the first message has once
// WriteMessages has returned.
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
			switch r.URL.Query().Get("hdrs") {
			case "full":
				msgs[i].Headers = []kafka.Header{{Key: "x-app", Value: []byte("1")}}
			case "spare":
				msgs[i].Headers = append(make([]kafka.Header, 0, 2), kafka.Header{Key: "x-app", Value: []byte("1")})
			}
		}
		if err := w.WriteMessages(r.Context(), msgs...); err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		h := 0
		if n > 0 {
			h = len(msgs[0].Headers)
		}
		fmt.Fprintln(rw, "sent", n, "headers", h)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, nil)
}
