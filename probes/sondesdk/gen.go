package sondesdk

//go:generate go tool bpf2go -target amd64,arm64 -type sdk_event sdk sdk.c -- -I../../internal/bpf/include
//go:generate go tool bpf2go -target amd64,arm64 sdkWrite sdk_write.c -- -I../../internal/bpf/include
