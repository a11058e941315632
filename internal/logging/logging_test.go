package logging

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestLevelNames(t *testing.T) {
	var b strings.Builder
	log := New(&b, slog.LevelDebug)
	log.V(1).Info("v1")
	log.V(3).Info("v3")
	log.Info("info")
	log.Error(errors.New("boom"), "failed")
	want := []string{"level=DEBUG msg=v1", "level=DEBUG msg=v3", "level=INFO msg=info", "level=ERROR msg=failed err=boom"}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), &b)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want %q", i, lines[i], w)
		}
	}
	if strings.Contains(b.String(), "DEBUG+") {
		t.Errorf("a level is printed as an offset:\n%s", &b)
	}
}

func TestLevelFilter(t *testing.T) {
	var b strings.Builder
	log := New(&b, slog.LevelInfo)
	log.V(1).Info("hidden")
	log.Info("shown")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "shown") {
		t.Errorf("info logger wrote:\n%s", got)
	}
}
