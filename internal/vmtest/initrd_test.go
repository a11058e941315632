package vmtest

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// TestBuildInitrd builds a real initrd (it compiles /init, the selftest
// binary and a fixture program) and checks its contents and manifest.
func TestBuildInitrd(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles test binaries; skipped with -short")
	}
	fixture := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(fixture, []byte("fixture"), 0o644); err != nil {
		t.Fatal(err)
	}
	bins := []TestBinary{{
		Package: "./internal/vmtest/selftest",
		Name:    "self",
		Args:    []string{"-test.v"},
		Env:     []string{"A=b"},
		Files:   map[string]string{"sub/data.txt": fixture},
		Builds:  map[string]string{"prog": "./internal/vmtest/vminit"},
		Timeout: time.Minute,
	}}
	ctx := context.Background()
	initrd, err := BuildInitrd(ctx, t.TempDir(), bins, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if initrd.Timeout != time.Minute || strings.Join(initrd.Binaries, ",") != "self" {
		t.Errorf("initrd %+v", initrd)
	}
	b, err := os.ReadFile(initrd.Path)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]cpioEntry{}
	for _, e := range readCPIO(t, b) {
		entries[e.name] = e
	}
	for _, name := range []string{"init", "dev/console", "tests/self.test", "fixtures/self/sub/data.txt", "fixtures/self/prog", "tests/manifest.json", "etc/hosts"} {
		if _, ok := entries[name]; !ok {
			t.Errorf("initrd lacks %s", name)
		}
	}
	if e := entries["init"]; !strings.HasPrefix(string(e.data), "\x7fELF") || e.mode&0o111 == 0 {
		t.Errorf("/init is not an executable ELF file (mode %o)", e.mode)
	}
	if got := string(entries["fixtures/self/sub/data.txt"].data); got != "fixture" {
		t.Errorf("fixture content %q", got)
	}
	var m vmenv.Manifest
	if err := json.Unmarshal(entries["tests/manifest.json"].data, &m); err != nil {
		t.Fatal(err)
	}
	want := vmenv.Binary{Name: "self", Path: "/tests/self.test", Args: []string{"-test.v"}, Env: []string{"A=b"},
		Dir: "/tests/self", FixtureDir: "/fixtures/self", Timeout: time.Minute}
	if len(m.Binaries) != 1 || !equalBinary(m.Binaries[0], want) {
		t.Errorf("manifest %+v, want %+v", m.Binaries, want)
	}
}

func equalBinary(a, b vmenv.Binary) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestBuildInitrdRejects(t *testing.T) {
	ctx := context.Background()
	for name, bins := range map[string][]TestBinary{
		"bad name":        {{Package: "./x", Name: "a b"}},
		"duplicate":       {{Package: "./internal/vmtest/selftest"}, {Package: "./other/selftest"}},
		"escaping file":   {{Package: "./internal/vmtest/selftest", Files: map[string]string{"../../init": "/bin/sh"}}},
		"no test package": {{Package: "./internal/vmtest/testdata/notests"}},
	} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "no test package" {
				t.Skip("compiles; skipped with -short")
			}
			_, err := BuildInitrd(ctx, t.TempDir(), bins, BuildOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}
