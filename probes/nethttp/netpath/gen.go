package netpath

//go:generate go tool bpf2go -target amd64,arm64 -type np_counter -type np_app -type np_pending -type np_conn Netpath netpath.c -- -I../../../internal/bpf/include
