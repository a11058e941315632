package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// binaries are the programs a benchmark run starts.
type binaries struct {
	App     string // plain target: what the agents instrument
	AppOtel string // target instrumented in-process with the OpenTelemetry SDK
	Sonde   string // the agent built from this tree
	Peer    string // a peer agent given by SONDE_BENCH_PEER, or ""
	// Baseline is another sonde binary given by SONDE_BENCH_BASELINE, or "".
	Baseline string
}

// build compiles the target variants and the sonde command into dir.
func build(dir, peer, baseline string) (binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return binaries{}, err
	}
	b := binaries{
		App:      filepath.Join(dir, "app"),
		AppOtel:  filepath.Join(dir, "app-otel"),
		Sonde:    filepath.Join(dir, "sonde"),
		Peer:     peer,
		Baseline: baseline,
	}
	app := filepath.Join(root, "internal", "bench", "app")
	steps := []struct {
		dir  string
		args []string
	}{
		{app, []string{"build", "-o", b.App, "."}},
		{app, []string{"build", "-tags", "otel", "-o", b.AppOtel, "."}},
		{root, []string{"build", "-o", b.Sonde, "./cmd/sonde"}},
	}
	for _, s := range steps {
		cmd := exec.Command("go", s.args...)
		cmd.Dir = s.dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return b, fmt.Errorf("go %s in %s: %w\n%s", strings.Join(s.args, " "), s.dir, err, out)
		}
	}
	for name, p := range map[string]string{"SONDE_BENCH_PEER": peer, "SONDE_BENCH_BASELINE": baseline} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%s: %w", name, err)
		}
	}
	return b, nil
}

// moduleRoot is the directory of the Sonde module this command runs from.
func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/sonde-go/auto").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module root (run from the Sonde clone): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}
