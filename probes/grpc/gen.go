package grpc

//go:generate go tool bpf2go -target amd64,arm64 -type grpc_server_event -type grpc_end server server.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 -type grpc_client_event client client.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 -type grpc_inject_stat inject inject.c -- -I../../internal/bpf/include
