package vmenv

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResultRoundTrip(t *testing.T) {
	for _, r := range []Result{
		{Name: "nethttp", Exit: 0, Duration: 1500 * time.Millisecond},
		{Name: "a.b-c_d", Exit: -1, TimedOut: true, Duration: time.Minute},
		{Name: "x", Exit: 2},
	} {
		line := "[   1.0] noise " + r.String()
		got, err := ParseResult(line)
		if err != nil {
			t.Errorf("ParseResult(%q): %v", line, err)
			continue
		}
		if got != r {
			t.Errorf("ParseResult(%q) = %+v, want %+v", line, got, r)
		}
	}
	for _, line := range []string{"", "SONDE-RESULT", "SONDE-RESULT name=x", "SONDE-RESULT exit=0", "SONDE-RESULT name=x exit=zero"} {
		if _, err := ParseResult(line); !errors.Is(err, ErrNotResult) {
			t.Errorf("ParseResult(%q) err = %v, want ErrNotResult", line, err)
		}
	}
}

func TestManifest(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.json")
	if err := os.WriteFile(p, []byte(`{"binaries":[{"name":"a","path":"/tests/a.test","timeout":1000000000}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Binaries) != 1 || m.Binaries[0].Name != "a" || m.Binaries[0].Timeout != time.Second {
		t.Errorf("manifest %+v", m)
	}
	if err := os.WriteFile(p, []byte(`{`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(p); err == nil {
		t.Error("bad JSON: no error")
	}
}

func TestInVM(t *testing.T) {
	t.Setenv(EnvInVM, "")
	if InVM() {
		t.Error("InVM() = true with SONDE_IN_VM empty")
	}
	t.Setenv(EnvInVM, "1")
	if !InVM() {
		t.Error("InVM() = false with SONDE_IN_VM=1")
	}
}
