// Package pipeline turns BPF ring buffer records into OpenTelemetry spans and hands them to an SDK exporter.
package pipeline
