// Command kafkago links kafka-go's Writer and Reader. It is only built
// (internal/tools/offsetgen), never run.
package main

import (
	"context"
	"os"

	"github.com/segmentio/kafka-go"
)

func main() {
	if len(os.Args) < 2 {
		return
	}
	ctx := context.Background()
	w := &kafka.Writer{Addr: kafka.TCP(os.Args[1]), Topic: "t"}
	w.WriteMessages(ctx, kafka.Message{Key: []byte("k"), Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}})
	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{os.Args[1]}, Topic: "t", GroupID: "g"})
	m, _ := r.FetchMessage(ctx)
	println(m.Offset, m.Partition, m.Topic, len(m.Headers))
}
