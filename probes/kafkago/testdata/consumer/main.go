// Command consumer is the kafka-go consumer fixture: an HTTP server whose
// GET /consume?n=N&topic=T reads N messages of topic T with ReadMessage,
// in consumer group "sonde-group", from the broker at $KAFKA_ADDR, and
// answers with one "partition offset key" line per message; with
// headers=1 the line ends with the message's header keys, comma-separated.
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/segmentio/kafka-go"
)

func main() {
	http.HandleFunc("/consume", func(rw http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		rd := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{os.Getenv("KAFKA_ADDR")},
			Topic: r.URL.Query().Get("topic"), GroupID: "sonde-group", MaxWait: 100e6})
		defer rd.Close()
		for i := 0; i < n; i++ {
			m, err := rd.ReadMessage(r.Context())
			if err != nil {
				http.Error(rw, err.Error(), http.StatusBadGateway)
				return
			}
			if r.URL.Query().Get("headers") == "1" {
				var keys []string
				for _, h := range m.Headers {
					keys = append(keys, h.Key)
				}
				fmt.Fprintln(rw, m.Partition, m.Offset, string(m.Key), strings.Join(keys, ","))
				continue
			}
			fmt.Fprintln(rw, m.Partition, m.Offset, string(m.Key))
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("listening on", ln.Addr())
	http.Serve(ln, nil)
}
