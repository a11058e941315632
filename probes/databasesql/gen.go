package databasesql

//go:generate go tool bpf2go -target amd64,arm64 -type db_query_event -type err_code_kind query query.c -- -I../../internal/bpf/include
