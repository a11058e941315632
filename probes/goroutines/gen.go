package goroutines

//go:generate go tool bpf2go -target amd64,arm64 goroutines goroutines.c -- -I../../internal/bpf/include
