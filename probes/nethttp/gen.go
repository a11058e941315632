package nethttp

//go:generate go tool bpf2go -target amd64,arm64 -type http_server_event -type trace_state_event server server.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 -type http_client_event client client.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 inject inject.c -- -I../../internal/bpf/include
