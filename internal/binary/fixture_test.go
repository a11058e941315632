package binary

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is a Go program under testdata, built by testenv.Build once per
// test run, on first use.
type fixture struct {
	name string // output file name
	src  string // directory under testdata
	opts []testenv.Option
}

func fx(name, src string, opts ...testenv.Option) *fixture {
	base := []testenv.Option{testenv.Name(name), testenv.Env("GOOS=linux", "GOARCH=amd64")}
	return &fixture{name: name, src: src, opts: append(base, opts...)}
}

// go127 is the newer toolchain, fetched into the module cache by
// `GOTOOLCHAIN=go1.27.3 go version` (.ci/run does).
func go127() string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return "go1.27.3 (no module cache: " + err.Error() + ")"
	}
	return filepath.Join(strings.TrimSpace(string(out)), "golang.org/toolchain@v0.0.1-go1.27.3.linux-amd64/bin/go")
}

var (
	stripped = testenv.Flags("-ldflags=-s -w")
	pie      = testenv.Flags("-buildmode=pie")
	arm64    = testenv.Env("GOARCH=arm64")
	cgo      = testenv.Env("CGO_ENABLED=1")
	go122    = testenv.Toolchain(testenv.Go122)
	go127Bin = testenv.Toolchain(go127())

	fxHTTP            = fx("http", "httpapp")
	fxHTTPStripped    = fx("http-stripped", "httpapp", stripped)
	fxPIE             = fx("http-pie", "httpapp", pie)
	fxPIEStripped     = fx("http-pie-stripped", "httpapp", pie, stripped)
	fxExtPIE          = fx("http-extpie", "httpapp", cgo, pie, testenv.Flags("-ldflags=-linkmode=external"))
	fxExtPIEStripped  = fx("http-extpie-stripped", "httpapp", cgo, pie, testenv.Flags("-ldflags=-s -w -linkmode=external"))
	fxARM64           = fx("http-arm64", "httpapp", arm64)
	fxARM64Stripped   = fx("http-arm64-stripped", "httpapp", arm64, stripped)
	fxGo122           = fx("http-go122", "httpapp", go122)
	fxGo122Stripped   = fx("http-go122-stripped", "httpapp", go122, stripped)
	fxGo122PIE        = fx("http-go122-pie", "httpapp", go122, pie)
	fxGo122PIEStrip   = fx("http-go122-pie-stripped", "httpapp", go122, pie, stripped)
	fxGo127           = fx("http-go127", "httpapp", go127Bin)
	fxGo127Stripped   = fx("http-go127-stripped", "httpapp", go127Bin, stripped)
	fxTrivialNoModule = fx("trivial", "trivial", testenv.Env("GO111MODULE=off"))
)

// build returns the path of the fixture, building it on first use; a
// toolchain that is not installed is a testenv.Require failure.
func (fx *fixture) build(t testing.TB) string {
	t.Helper()
	return testenv.Build(t, filepath.Join("testdata", fx.src), fx.opts...)
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
