package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestDemo runs `sonde demo` in the test process: it builds examples/todo,
// so it is skipped in -short mode.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds examples/todo; skipped in -short mode")
	}
	testenv.RequireRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr strings.Builder
	start := time.Now()
	if err := runDemo(ctx, false, &stdout, &stderr); err != nil {
		t.Fatalf("demo: %v\nstdout:\n%s\nstderr:\n%s", err, &stdout, &stderr)
	}
	t.Logf("demo took %v", time.Since(start))
	out := stdout.String()
	for _, want := range []string{
		"  GET /todos/{id}  [server]  ",
		"url.path=/todos/999  http.response.status_code=404",
		"DELETE /todos/{id}  [server]  ",
		"SELECT todos  [client]  ",
		"INSERT todos  [client]  ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`(?m)^(\d+) traces, (\d+) spans$`).FindStringSubmatch(out)
	if m == nil || m[1] != "7" {
		// Six requests, none with an incoming trace context: six traces,
		// plus the todo's startup CREATE TABLE (Sonde attaches before
		// main runs).
		t.Errorf("summary %q, want 7 traces:\n%s", m, out)
	}
}
