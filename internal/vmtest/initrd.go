package vmtest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// initPackage is the /init program of the VM.
const initPackage = "github.com/sonde-go/auto/internal/vmtest/vminit"

// Initrd is a built initrd: /init, the test binaries, their fixtures.
type Initrd struct {
	// Path is the initrd file.
	Path string
	// Binaries are the names of the test binaries, in run order.
	Binaries []string
	// Want are the tests each binary must pass, by binary name.
	Want map[string][]string
	// Timeout is the sum of the binaries' timeouts.
	Timeout time.Duration
}

// BuildOptions tune BuildInitrd.
type BuildOptions struct {
	// Gzip compresses the initrd. Uncompressed boots faster under emulation
	// (the guest does not inflate it) at the price of a larger file.
	Gzip bool
}

// BuildInitrd compiles /init and every binary's test binary and fixture
// programs (static, GOOS=linux GOARCH=amd64) in workDir and packs them into
// workDir/initrd.cpio (or .cpio.gz). It runs the go command from the module
// root of the current directory.
func BuildInitrd(ctx context.Context, workDir string, bins []TestBinary, opts BuildOptions) (*Initrd, error) {
	names, err := validate(bins)
	if err != nil {
		return nil, err
	}
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, fmt.Errorf("creating work dir: %w", err)
	}
	initrd := &Initrd{}
	files := []cpioFile{}
	add := func(dst, src string, perm uint32) { files = append(files, cpioFile{dst, src, perm}) }

	initBin := filepath.Join(workDir, "init")
	if err := goBuild(ctx, root, "build", initBin, initPackage, nil); err != nil {
		return nil, err
	}
	add("init", initBin, 0o755)

	var m vmenv.Manifest
	for i, b := range bins {
		name := names[i]
		bin := filepath.Join(workDir, name+".test")
		if err := goBuild(ctx, root, "test", bin, b.Package, b.Tags); err != nil {
			return nil, err
		}
		add("tests/"+name+".test", bin, 0o755)
		if td, err := packageTestdata(ctx, root, b.Package, b.Tags); err != nil {
			return nil, err
		} else if td != "" {
			if err := addTree(&files, "tests/"+name+"/testdata", td); err != nil {
				return nil, err
			}
		}
		fixtures := "fixtures/" + name
		for _, dst := range slices.Sorted(maps.Keys(b.Files)) {
			add(fixtures+"/"+dst, b.Files[dst], 0o755)
		}
		for _, dst := range slices.Sorted(maps.Keys(b.Builds)) {
			out := filepath.Join(workDir, "fixtures", name, dst)
			if err := goBuild(ctx, root, "build", out, b.Builds[dst], nil); err != nil {
				return nil, err
			}
			add(fixtures+"/"+dst, out, 0o755)
		}
		timeout := b.Timeout
		if timeout <= 0 {
			timeout = defaultBinaryTimeout
		}
		initrd.Timeout += timeout
		m.Binaries = append(m.Binaries, vmenv.Binary{
			Name:       name,
			Path:       "/tests/" + name + ".test",
			Args:       b.Args,
			Env:        b.Env,
			Dir:        "/tests/" + name,
			FixtureDir: "/" + fixtures,
			Timeout:    timeout,
		})
		initrd.Binaries = append(initrd.Binaries, name)
		if len(b.Want) > 0 {
			if initrd.Want == nil {
				initrd.Want = map[string][]string{}
			}
			initrd.Want[name] = b.Want
		}
	}
	manifest, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}

	initrd.Path = filepath.Join(workDir, "initrd.cpio")
	if opts.Gzip {
		initrd.Path += ".gz"
	}
	if err := writeInitrd(initrd.Path, files, manifest, opts.Gzip); err != nil {
		return nil, err
	}
	return initrd, nil
}

// validate checks names and fixture paths before anything is built, and
// returns each binary's name.
func validate(bins []TestBinary) ([]string, error) {
	var names []string
	for _, b := range bins {
		name, err := b.name()
		if err != nil {
			return nil, err
		}
		if slices.Contains(names, name) {
			return nil, fmt.Errorf("test binary name %q used twice", name)
		}
		names = append(names, name)
		for dst := range maps.Keys(b.Files) {
			if b.Builds[dst] != "" || !filepath.IsLocal(dst) {
				return nil, fmt.Errorf("test binary %s: fixture name %q: want a unique relative path", name, dst)
			}
		}
		for dst := range maps.Keys(b.Builds) {
			if !filepath.IsLocal(dst) {
				return nil, fmt.Errorf("test binary %s: fixture name %q: want a relative path", name, dst)
			}
		}
	}
	return names, nil
}

// defaultBinaryTimeout bounds a binary whose TestBinary has no Timeout.
const defaultBinaryTimeout = 5 * time.Minute

// cpioFile is a file of this machine to put at dst in the initrd.
type cpioFile struct {
	dst, src string
	perm     uint32
}

// etcFiles are the few files of /etc that Go programs read: name lookups
// of localhost and the current user.
var etcFiles = map[string]string{
	"etc/hosts":         "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n",
	"etc/nsswitch.conf": "hosts: files dns\n",
	"etc/passwd":        "root:x:0:0:root:/tmp:/bin/sh\n",
	"etc/group":         "root:x:0:\n",
}

// writeInitrd writes the directory skeleton, /dev/console, the files and
// the manifest as a newc cpio archive.
func writeInitrd(out string, files []cpioFile, manifest []byte, compress bool) (err error) {
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("creating initrd: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("writing initrd: %w", cerr)
		}
	}()
	var w io.Writer = f
	var gz *gzip.Writer
	if compress {
		gz, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
		w = gz
	}
	c := newCPIOWriter(w)

	dirs := map[string]bool{}
	mkdirs := func(p string) error {
		var chain []string
		for d := path.Dir(p); d != "." && d != "/" && !dirs[d]; d = path.Dir(d) {
			chain = append(chain, d)
		}
		for i := len(chain) - 1; i >= 0; i-- {
			dirs[chain[i]] = true
			if err := c.dir(chain[i], 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	for _, d := range []string{"dev/x", "proc/x", "sys/x", "tmp/x", "run/x", "bin/x", "tests/x", "fixtures/x"} {
		if err := mkdirs(d); err != nil {
			return err
		}
	}
	// The kernel opens /dev/console for /init before devtmpfs is mounted.
	if err := c.charDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := mkdirs("etc/x"); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(etcFiles)) {
		data := etcFiles[name]
		if err := c.file(name, 0o644, int64(len(data)), strings.NewReader(data)); err != nil {
			return err
		}
	}
	for _, cf := range files {
		if err := mkdirs(cf.dst); err != nil {
			return err
		}
		if err := copyInto(c, cf); err != nil {
			return err
		}
	}
	mpath := strings.TrimPrefix(vmenv.ManifestPath, "/")
	if err := c.file(mpath, 0o644, int64(len(manifest)), bytes.NewReader(manifest)); err != nil {
		return err
	}
	if err := c.close(); err != nil {
		return err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return fmt.Errorf("compressing initrd: %w", err)
		}
	}
	return nil
}

func copyInto(c *cpioWriter, cf cpioFile) error {
	f, err := os.Open(cf.src)
	if err != nil {
		return fmt.Errorf("adding %s to initrd: %w", cf.dst, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("adding %s to initrd: %w", cf.dst, err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("adding %s to initrd: %s is not a regular file", cf.dst, cf.src)
	}
	return c.file(cf.dst, cf.perm, st.Size(), f)
}

// addTree adds the regular files under src at dst.
func addTree(files *[]cpioFile, dst, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		*files = append(*files, cpioFile{dst + "/" + filepath.ToSlash(rel), p, uint32(info.Mode().Perm())})
		return nil
	})
}

// goBuild runs `go build -o out pkg` or `go test -c -o out pkg` in root,
// static and for linux/amd64.
func goBuild(ctx context.Context, root, mode, out, pkg string, tags []string) error {
	args := []string{mode}
	if mode == "test" {
		args = append(args, "-c")
	}
	args = append(args, "-o", out)
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	args = append(args, pkg)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, b)
	}
	if _, err := os.Stat(out); err != nil {
		// `go test -c` writes nothing for a package without tests.
		return fmt.Errorf("building %s: no output (a package without tests?): %w", pkg, err)
	}
	return nil
}

// packageTestdata returns the package's testdata directory, or "".
func packageTestdata(ctx context.Context, root, pkg string, tags []string) (string, error) {
	args := []string{"list", "-f", "{{.Dir}}"}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locating package %s: %w", pkg, err)
	}
	td := filepath.Join(strings.TrimSpace(string(out)), "testdata")
	if st, err := os.Stat(td); err == nil && st.IsDir() {
		return td, nil
	}
	return "", nil
}

// moduleRoot is the directory of the main module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locating module root: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("locating module root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}
