package databasesql

//go:generate go tool bpf2go -target amd64,arm64 -type db_query_event query query.c -- -I../../internal/bpf/include
