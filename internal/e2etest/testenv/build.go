package testenv

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// Go122 is the older toolchain CI installs (Debian golang-1.22-go): classic
// maps and older struct layouts.
const Go122 = "/usr/lib/go-1.22/bin/go"

// An Option changes how Build builds a fixture.
type Option func(*spec)

type spec struct {
	name  string
	flags []string
	env   []string
	goBin string
}

// Flags adds `go build` flags ("-ldflags=-s -w", "-buildmode=pie").
func Flags(flags ...string) Option {
	return func(s *spec) { s.flags = append(s.flags, flags...) }
}

// Env adds variables to the build environment ("GOARCH=arm64",
// "CGO_ENABLED=1", "GO111MODULE=off", "GOTOOLCHAIN=go1.27.3"); they come
// after Build's defaults (CGO_ENABLED=0, GOWORK=off, GOTOOLCHAIN=local) and
// override them.
func Env(kv ...string) Option {
	return func(s *spec) { s.env = append(s.env, kv...) }
}

// Toolchain builds with the go command at goBin (Go122, say) instead of
// the one running the test. A package directory without a go.mod of its
// own (a standard-library-only fixture of the main module, whose go.mod is
// too new for old toolchains) is copied into a module of its own first. A
// toolchain that is not installed is a Require failure.
func Toolchain(goBin string) Option {
	return func(s *spec) { s.goBin = goBin }
}

// Name sets the executable's file name, which is also its name in
// vmenv.FixtureDir inside the kernel-matrix VM (TestBinary.Builds in
// internal/vmtest). By default: the package directory's base name, with
// the toolchain's version appended for Toolchain ("server-go1.22").
func Name(name string) Option {
	return func(s *spec) { s.name = name }
}

// build is one fixture of this test binary, built once.
type build struct {
	once sync.Once
	out  string // its directory
	path string
	err  error
}

var (
	mu       sync.Mutex
	inMain   bool   // Main is running the tests
	startDir string // the working directory when Main started: the package's
	tmpDir   string // holds every build; removed by Main
	builds   = map[string]*build{}
)

// Main runs the tests and removes the fixtures Build made; call it from
// the TestMain of every package whose tests call Build:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that does more: it runs the tests, removes the
// fixtures and returns the exit code.
func Run(m *testing.M) int {
	dir, err := os.Getwd()
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		return 1
	}
	mu.Lock()
	inMain, startDir = true, dir
	mu.Unlock()
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if tmpDir != "" {
		if err := os.RemoveAll(tmpDir); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: removing fixtures: %v\n", err)
		}
		tmpDir = ""
	}
	builds = map[string]*build{}
	return code
}

var versionRE = regexp.MustCompile(`go-?(1\.\d+(?:\.\d+)?)`)

// toolchainRE matches a toolchain the go command downloads into the module
// cache (GOTOOLCHAIN).
var toolchainRE = regexp.MustCompile(`toolchain@v0\.0\.1-(go1\.[0-9.]+)\.`)

// toolchainHint says how to install the toolchain at goBin.
func toolchainHint(goBin string) string {
	switch {
	case goBin == Go122 || goBin == Go121 || goBin == Go119:
		return "apt-get install golang-" + versionRE.FindStringSubmatch(goBin)[1] + "-go, from Debian bookworm-backports"
	case toolchainRE.MatchString(goBin):
		return "GOTOOLCHAIN=" + toolchainRE.FindStringSubmatch(goBin)[1] + " go version downloads it"
	}
	return "install it there"
}

// Build compiles the Go package in dir (relative to the package directory:
// the test binary's working directory when it started) once per test
// binary and returns the executable's path. By default it uses the go
// command running the test, CGO_ENABLED=0 and no VCS stamping. Inside the kernel-matrix VM, which has no go command, it
// returns the fixture prebuilt under its Name in vmenv.FixtureDir, and
// fails when there is none. A missing go command or toolchain is a Require
// failure.
func Build(t testing.TB, dir string, opts ...Option) string {
	t.Helper()
	var s spec
	for _, o := range append(opts, variantOptions(t)...) {
		o(&s)
	}
	if s.name == "" {
		s.name = filepath.Base(dir)
		if s.goBin != "" {
			if m := versionRE.FindStringSubmatch(s.goBin); m != nil {
				s.name += "-go" + m[1]
			} else {
				s.name += "-" + strings.ReplaceAll(strings.Trim(s.goBin, "/"), "/", "_")
			}
		}
	}
	if vmenv.InVM() {
		p := filepath.Join(vmenv.FixtureDir(), s.name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("fixture %s (%s) is not prebuilt in the VM: add it to its test binary's Builds in internal/vmtest (%v)", s.name, dir, err)
			return ""
		}
		return p
	}

	goBin := s.goBin
	if goBin == "" {
		p, err := exec.LookPath("go")
		Require(t, err == nil, "no go command to build %s: %v", dir, err)
		if err != nil {
			return ""
		}
		goBin = p
	} else {
		_, err := os.Stat(goBin)
		Require(t, err == nil, "toolchain %s not installed (%s; README.md, Running the tests, lists what the tests need)", goBin, toolchainHint(goBin))
		if err != nil {
			return ""
		}
	}
	env := append([]string{"CGO_ENABLED=0", "GOWORK=off", "GOTOOLCHAIN=local"}, s.env...)
	if slices.Contains(env, "CGO_ENABLED=1") && !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "CC=") }) {
		_, err := exec.LookPath("gcc")
		Require(t, err == nil, "building %s with cgo needs gcc: %v", dir, err)
		if err != nil {
			return ""
		}
	}

	mu.Lock()
	if !inMain {
		mu.Unlock()
		t.Fatalf("testenv.Build(%s): call testenv.Main(m) from the package's TestMain, which removes the fixtures at exit", dir)
		return ""
	}
	abs := dir
	if !filepath.IsAbs(dir) {
		abs = filepath.Join(startDir, dir) // not the cwd: a test may t.Chdir
	}
	key := strings.Join(append([]string{abs, s.name, goBin, strings.Join(s.flags, "\x00")}, env...), "\x01")
	var err error
	if tmpDir == "" {
		if tmpDir, err = os.MkdirTemp("", "sonde-test-"); err != nil {
			mu.Unlock()
			t.Fatal(err)
			return ""
		}
	}
	b := builds[key]
	if b == nil {
		b = &build{out: filepath.Join(tmpDir, strconv.Itoa(len(builds)))}
		builds[key] = b
	}
	mu.Unlock()

	b.once.Do(func() { b.path, b.err = goBuild(goBin, abs, b.out, s, env) })
	if b.err != nil {
		t.Fatalf("building %s: %v", dir, b.err)
		return ""
	}
	return b.path
}

// goBuild builds the package in src into the new directory out.
func goBuild(goBin, src, out string, s spec, env []string) (string, error) {
	if err := os.Mkdir(out, 0o755); err != nil {
		return "", err
	}
	_, err := os.Stat(filepath.Join(src, "go.mod"))
	if s.goBin != "" && err != nil && !slices.Contains(env, "GO111MODULE=off") {
		if src, err = ownModule(goBin, src, filepath.Join(out, "src")); err != nil {
			return "", err
		}
	}
	bin := filepath.Join(out, s.name)
	args := append([]string{"build", "-buildvcs=false", "-o", bin}, s.flags...)
	cmd := exec.Command(goBin, append(args, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", goBin, strings.Join(cmd.Args[1:], " "), err, b)
	}
	return bin, nil
}

// ownModule copies the .go files of src into dst with a go.mod of their own
// whose go line is goBin's version, and returns dst.
func ownModule(goBin, src, dst string) (string, error) {
	v, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		return "", fmt.Errorf("%s env GOVERSION: %w", goBin, err)
	}
	m := regexp.MustCompile(`^go(1\.\d+)`).FindSubmatch(bytes.TrimSpace(v))
	if m == nil {
		return "", fmt.Errorf("%s env GOVERSION: %q", goBin, v)
	}
	if err := os.Mkdir(dst, 0o755); err != nil {
		return "", err
	}
	files, err := filepath.Glob(filepath.Join(src, "*.go"))
	if err != nil {
		return "", err
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644); err != nil {
			return "", err
		}
	}
	mod := fmt.Sprintf("module fixture\n\ngo %s\n", m[1])
	return dst, os.WriteFile(filepath.Join(dst, "go.mod"), []byte(mod), 0o644)
}
