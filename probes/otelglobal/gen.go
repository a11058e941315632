package otelglobal

//go:generate go tool bpf2go -target amd64,arm64 -type manual_span_event global global.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 globalWrite global_write.c -- -I../../internal/bpf/include
