package vmtest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCachedKernels(t *testing.T) {
	dir := t.TempDir()
	if _, err := CachedKernels(dir); !errors.Is(err, ErrNoKernels) {
		t.Errorf("empty cache: err = %v, want ErrNoKernels", err)
	}
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("kernels.list", "\n# comment\n")
	if _, err := CachedKernels(dir); !errors.Is(err, ErrNoKernels) {
		t.Errorf("list without kernels: err = %v, want ErrNoKernels", err)
	}
	write("k1/vmlinuz", "x")
	write("k1/release", "6.1.0-1\n")
	write("k2/vmlinuz", "x")
	write("k2/release", "6.12.3\n")
	write("kernels.list", "k2\nk1\n")
	ks, err := CachedKernels(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Release != "6.12.3" || ks[1].Name != "k1" || ks[1].Image != filepath.Join(dir, "k1", "vmlinuz") {
		t.Errorf("kernels = %+v", ks)
	}
	write("kernels.list", "k1\nk3\n")
	if _, err := CachedKernels(dir); err == nil {
		t.Error("listed kernel without files: no error")
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv(EnvKernelCache, "/x/y")
	if d := CacheDir(); d != "/x/y" {
		t.Errorf("CacheDir = %q with %s set", d, EnvKernelCache)
	}
	t.Setenv(EnvKernelCache, "")
	t.Setenv("HOME", "/home/u")
	if d := CacheDir(); d != "/home/u/.cache/sonde-kernels" {
		t.Errorf("CacheDir = %q", d)
	}
}
