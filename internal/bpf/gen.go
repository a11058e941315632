package bpf

//go:generate go tool bpf2go -target amd64,arm64 -type event_header Sonde types.c -- -Iinclude
