package binary

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// fixtureDir holds the executables built by this test run.
var fixtureDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sonde-binary-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtureDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// fixture is a Go program built once per test run, on first use.
type fixture struct {
	name  string   // output file name
	src   string   // directory under testdata
	goCmd string   // "" for the running toolchain
	env   []string // added to the build environment
	args  []string // go build flags

	once sync.Once
	path string
	skip string
	err  error
}

// The toolchains of the older/newer fixtures; see
// /work/shared/notes/go-versions.md for how they are installed.
const go122 = "/usr/lib/go-1.22/bin/go"

func go127() string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	return filepath.Join(strings.TrimSpace(string(out)), "golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64/bin/go")
}

var (
	stripped = "-ldflags=-s -w"
	pie      = "-buildmode=pie"
	arm64Env = []string{"GOARCH=arm64"}
	cgoOff   = []string{"CGO_ENABLED=0"}

	fxHTTP            = &fixture{name: "http", src: "httpapp", env: cgoOff}
	fxHTTPStripped    = &fixture{name: "http-stripped", src: "httpapp", env: cgoOff, args: []string{stripped}}
	fxPIE             = &fixture{name: "http-pie", src: "httpapp", env: cgoOff, args: []string{pie}}
	fxPIEStripped     = &fixture{name: "http-pie-stripped", src: "httpapp", env: cgoOff, args: []string{pie, stripped}}
	fxExtPIE          = &fixture{name: "http-extpie", src: "httpapp", env: []string{"CGO_ENABLED=1"}, args: []string{pie, "-ldflags=-linkmode=external"}}
	fxExtPIEStripped  = &fixture{name: "http-extpie-stripped", src: "httpapp", env: []string{"CGO_ENABLED=1"}, args: []string{pie, "-ldflags=-s -w -linkmode=external"}}
	fxARM64           = &fixture{name: "http-arm64", src: "httpapp", env: append(arm64Env, cgoOff...)}
	fxARM64Stripped   = &fixture{name: "http-arm64-stripped", src: "httpapp", env: append(arm64Env, cgoOff...), args: []string{stripped}}
	fxGo122           = &fixture{name: "http-go122", src: "httpapp", goCmd: go122, env: cgoOff}
	fxGo122Stripped   = &fixture{name: "http-go122-stripped", src: "httpapp", goCmd: go122, env: cgoOff, args: []string{stripped}}
	fxGo122PIE        = &fixture{name: "http-go122-pie", src: "httpapp", goCmd: go122, env: cgoOff, args: []string{pie}}
	fxGo122PIEStrip   = &fixture{name: "http-go122-pie-stripped", src: "httpapp", goCmd: go122, env: cgoOff, args: []string{pie, stripped}}
	fxGo127           = &fixture{name: "http-go127", src: "httpapp", goCmd: go127(), env: cgoOff}
	fxGo127Stripped   = &fixture{name: "http-go127-stripped", src: "httpapp", goCmd: go127(), env: cgoOff, args: []string{stripped}}
	fxTrivialNoModule = &fixture{name: "trivial", src: "trivial", env: []string{"GO111MODULE=off", "CGO_ENABLED=0"}}
)

// build returns the path of the fixture, building it on first use; it
// skips the test when the fixture's toolchain is not installed.
func (fx *fixture) build(t testing.TB) string {
	t.Helper()
	fx.once.Do(func() {
		goCmd := fx.goCmd
		if goCmd == "" {
			goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		if _, err := os.Stat(goCmd); err != nil {
			fx.skip = fmt.Sprintf("toolchain %s not installed (see /work/shared/notes/go-versions.md)", goCmd)
			return
		}
		for _, e := range fx.env {
			if e == "CGO_ENABLED=1" {
				if _, err := exec.LookPath("gcc"); err != nil {
					fx.skip = "external linking needs gcc"
					return
				}
			}
		}
		src, err := filepath.Abs(filepath.Join("testdata", fx.src))
		if err != nil {
			fx.err = err
			return
		}
		fx.path = filepath.Join(fixtureDir, fx.name)
		args := append([]string{"build", "-o", fx.path}, fx.args...)
		if fx.src == "trivial" {
			args = append(args, "main.go")
		} else {
			args = append(args, ".")
		}
		cmd := exec.Command(goCmd, args...)
		cmd.Dir = src
		flags := "GOFLAGS=-buildvcs=false -mod=readonly"
		if fx.src == "trivial" {
			flags = "GOFLAGS=-buildvcs=false"
		}
		cmd.Env = append(os.Environ(), flags, "GOPROXY=off", "GOWORK=off",
			"GOTOOLCHAIN=local", "GOOS=linux", "GOARCH=amd64")
		cmd.Env = append(cmd.Env, fx.env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			fx.err = fmt.Errorf("building fixture %s: %v\n%s", fx.name, err, out)
		}
	})
	if fx.skip != "" {
		t.Skip(fx.skip)
	}
	if fx.err != nil {
		t.Fatal(fx.err)
	}
	return fx.path
}

// open builds the fixture and opens it, closing it at the end of the test.
func (fx *fixture) open(t testing.TB) *File {
	t.Helper()
	f, err := Open(fx.build(t))
	if err != nil {
		t.Fatalf("Open(%s): %v", fx.name, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
