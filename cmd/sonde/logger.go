package main

import (
	"io"
	"log/slog"

	"github.com/go-logr/logr"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/logging"
)

// newLogger returns a logger writing text lines to w at level.
func newLogger(w io.Writer, level slog.Level) logr.Logger {
	return logging.New(w, level)
}

// loggerOptions returns WithLogger at debug level for -v, and nothing
// otherwise, so that the library's default (OTEL_LOG_LEVEL) applies.
func loggerOptions(verbose bool, w io.Writer) []auto.InstrumentationOption {
	if !verbose {
		return nil
	}
	return []auto.InstrumentationOption{auto.WithLogger(newLogger(w, slog.LevelDebug))}
}
