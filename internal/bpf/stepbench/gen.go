package stepbench

//go:generate go tool bpf2go -target amd64,arm64 steps steps.c -- -I../include
