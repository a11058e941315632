// Package bpf holds the C headers shared by every probe (Go value layouts,
// span contexts and correlation maps, the event ring buffer, http.Header
// scanning, traceparent parsing) and the Go side of the shared event header.
package bpf
