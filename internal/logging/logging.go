// Package logging builds Sonde's default loggers: logr on log/slog text
// lines.
package logging

import (
	"io"
	"log/slog"

	"github.com/go-logr/logr"
)

// New returns a logger writing slog text lines to w at level and above.
// logr's V(n) levels are slog levels below Info (V(1) is Info-1): they are
// all printed as level=DEBUG, not DEBUG+3.
func New(w io.Writer, level slog.Level) logr.Logger {
	return logr.FromSlogHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: levelName}))
}

// levelName names every level by the standard level at or below it.
func levelName(groups []string, a slog.Attr) slog.Attr {
	if a.Key != slog.LevelKey || len(groups) > 0 {
		return a
	}
	lv, ok := a.Value.Any().(slog.Level)
	if !ok {
		return a
	}
	switch {
	case lv < slog.LevelInfo:
		lv = slog.LevelDebug
	case lv < slog.LevelWarn:
		lv = slog.LevelInfo
	case lv < slog.LevelError:
		lv = slog.LevelWarn
	default:
		lv = slog.LevelError
	}
	return slog.String(slog.LevelKey, lv.String())
}
