// Package otlptest is an OTLP trace receiver (HTTP/protobuf and gRPC) for tests.
package otlptest
