package vmtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// EnvKernelCache overrides the kernel cache directory.
const EnvKernelCache = "SONDE_KERNEL_CACHE"

// kernelList is the file in the cache that lists the kernels to test, one
// cache subdirectory a line; scripts/kernels/fetch.sh writes it.
const kernelList = "kernels.list"

// ErrNoKernels is returned when the cache lists no kernel.
var ErrNoKernels = errors.New("no kernels cached (run scripts/kernels/fetch.sh or make kernels)")

// Kernel is one bootable kernel of the matrix.
type Kernel struct {
	// Name is the Debian package the kernel came from.
	Name string
	// Release is the kernel's uname -r.
	Release string
	// Image is the path of the bzImage (vmlinuz).
	Image string
}

// CacheDir returns the kernel cache directory: $SONDE_KERNEL_CACHE, else
// $HOME/.cache/sonde-kernels.
func CacheDir() string {
	if d := os.Getenv(EnvKernelCache); d != "" {
		return d
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "sonde-kernels")
}

// CachedKernels returns the kernels listed in dir's kernels.list, in order.
func CachedKernels(dir string) ([]Kernel, error) {
	f, err := os.Open(filepath.Join(dir, kernelList))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading %s: %w", dir, ErrNoKernels)
	}
	if err != nil {
		return nil, fmt.Errorf("reading kernel list: %w", err)
	}
	defer f.Close()
	var ks []Kernel
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		k := Kernel{Name: name, Image: filepath.Join(dir, name, "vmlinuz")}
		if _, err := os.Stat(k.Image); err != nil {
			return nil, fmt.Errorf("kernel %s: %w", name, err)
		}
		rel, err := os.ReadFile(filepath.Join(dir, name, "release"))
		if err != nil {
			return nil, fmt.Errorf("kernel %s: %w", name, err)
		}
		k.Release = strings.TrimSpace(string(rel))
		ks = append(ks, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading kernel list: %w", err)
	}
	if len(ks) == 0 {
		return nil, fmt.Errorf("reading %s: %w", dir, ErrNoKernels)
	}
	return ks, nil
}
