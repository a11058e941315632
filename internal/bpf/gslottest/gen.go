package gslottest

//go:generate go tool bpf2go -target amd64,arm64 gslot gslot.c -- -I../include
