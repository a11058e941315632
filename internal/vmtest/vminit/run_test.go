//go:build linux

package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

func TestRunAll(t *testing.T) {
	dir := t.TempDir()
	m := vmenv.Manifest{Binaries: []vmenv.Binary{
		{Name: "ok", Path: "/bin/sh", Args: []string{"-c", `echo "out $SONDE_IN_VM $SONDE_FIXTURE_DIR $X"; echo err >&2; printf tail`}, Env: []string{"X=x"}, Dir: dir, FixtureDir: "/fixtures/ok"},
		{Name: "fails", Path: "/bin/sh", Args: []string{"-c", "exit 3"}, Dir: dir},
		{Name: "hangs", Path: "/bin/sh", Args: []string{"-c", "sleep 30"}, Dir: dir, Timeout: 200 * time.Millisecond},
		{Name: "missing", Path: dir + "/nope", Dir: dir},
	}}
	var out bytes.Buffer
	start := time.Now()
	runAll(&out, m, []string{"PATH=/bin:/usr/bin", vmenv.EnvInVM + "=1"})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("runAll took %s: the timeout did not kill the hanging binary", d)
	}
	t.Logf("console:\n%s", out.String())

	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	for _, want := range []string{"ok| out 1 /fixtures/ok x", "ok| err", "ok| tail"} {
		if !slices.Contains(lines, want) {
			t.Errorf("console lacks line %q", want)
		}
	}
	wantExit := map[string]int{"ok": 0, "fails": 3, "hangs": -1, "missing": -1}
	got := map[string]vmenv.Result{}
	for _, l := range lines {
		if r, err := vmenv.ParseResult(l); err == nil {
			got[r.Name] = r
		}
	}
	for name, exit := range wantExit {
		r, ok := got[name]
		if !ok {
			t.Errorf("no result line for %s", name)
			continue
		}
		if r.Exit != exit {
			t.Errorf("%s: exit = %d, want %d", name, r.Exit, exit)
		}
		if r.TimedOut != (name == "hangs") {
			t.Errorf("%s: timedOut = %v", name, r.TimedOut)
		}
	}
}
