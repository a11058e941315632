package nethttp

//go:generate go tool bpf2go -target amd64,arm64 -type http_server_event server server.c -- -I../../internal/bpf/include
