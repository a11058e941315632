package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// BuildModule builds the fixture whose .go files are in dir (relative to
// the package directory) in a module of its own, named after dir, whose
// go.mod has a go 1.22 line and requires the given "module version" pairs
// (replace lines may follow as "=> ..." entries: "m => /abs/path"); go mod
// tidy resolves the rest through the module proxy (a Require failure when
// it cannot). opts are Build's.
func BuildModule(t testing.TB, dir string, requires []string, opts ...Option) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "sonde-module-")
	if err != nil {
		t.Fatalf("%v", err)
		return ""
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			t.Fatalf("%v", err)
			return ""
		}
	}
	var req, repl []string
	for _, r := range requires {
		if strings.Contains(r, "=>") {
			repl = append(repl, "replace "+r)
		} else {
			req = append(req, "require "+r)
		}
	}
	mod := "module " + filepath.Base(dir) + "\n\ngo 1.22\n\n" + strings.Join(append(req, repl...), "\n") + "\n"
	if err := os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o644); err != nil {
		t.Fatalf("%v", err)
		return ""
	}
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = tmp
	tidy.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := tidy.CombinedOutput()
	Require(t, err == nil, "go mod tidy for %s with %v (needs the module proxy): %v\n%s", dir, requires, err, out)
	if err != nil {
		return ""
	}
	return Build(t, tmp, opts...)
}
