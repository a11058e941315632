package auto

import (
	"log/slog"
	"os"
	"strings"

	"github.com/go-logr/logr"

	"github.com/sonde-go/auto/internal/logging"
)

// defaultLogger logs to stderr through log/slog at the OTEL_LOG_LEVEL level
// (debug, info, warn, error; default info).
func defaultLogger(level string) logr.Logger {
	lv := slog.LevelInfo
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		lv = slog.LevelDebug
	case "warn", "warning":
		lv = slog.LevelWarn
	case "error":
		lv = slog.LevelError
	}
	return logging.New(os.Stderr, lv)
}
