package kafkago

//go:generate go tool bpf2go -target amd64,arm64 -type kafka_event kafka kafka.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 -type kafka_inject_stat kafkaWrite kafka_write.c -- -I../../internal/bpf/include
