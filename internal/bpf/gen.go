package bpf

//go:generate go tool bpf2go -target amd64,arm64 -type event_header -type sonde_counter Sonde types.c -- -Iinclude
