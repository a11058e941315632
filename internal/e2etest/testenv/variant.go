package testenv

import (
	"debug/elf"
	"strings"
	"testing"
)

// variants are options added to the builds of running tests, by test
// name (WithOptions).
var variants = map[string][]Option{}

// WithOptions adds opts to every Build (and BuildModule) of t and of its
// subtests until t ends: an existing scenario runs unchanged against a
// variant of its fixtures, for example built with -ldflags='-s -w'
// (Stripped) or with another toolchain:
//
//	t.Run("TestServerSpans", func(t *testing.T) {
//		testenv.WithOptions(t, testenv.Stripped)
//		TestServerSpans(t)
//	})
func WithOptions(t testing.TB, opts ...Option) {
	t.Helper()
	name := t.Name()
	mu.Lock()
	variants[name] = append(variants[name], opts...)
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		delete(variants, name)
		mu.Unlock()
	})
}

// Stripped builds without symbol table and DWARF, as release builds are.
var Stripped = Flags("-ldflags=-s -w")

// variantOptions returns the options WithOptions gave t or a parent test.
func variantOptions(t testing.TB) []Option {
	name := t.Name()
	mu.Lock()
	defer mu.Unlock()
	var out []Option
	for p, o := range variants {
		if name == p || strings.HasPrefix(name, p+"/") {
			out = append(out, o...)
		}
	}
	return out
}

// Other toolchains for variants: Debian's golang-1.19-go and
// golang-1.21-go (classic maps, the oldest layouts), and Go 1.27 through
// GOTOOLCHAIN (Swiss maps, the newest).
const (
	Go119 = "/usr/lib/go-1.19/bin/go"
	Go121 = "/usr/lib/go-1.21/bin/go"
)

// Go127 builds with Go 1.27.3, fetched through the module proxy.
var Go127 = Env("GOTOOLCHAIN=go1.27.3")

// RequireStripped fails t unless the executable at path has neither a
// symbol table nor DWARF (what a Stripped build makes).
func RequireStripped(t testing.TB, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%v", err)
		return
	}
	defer f.Close()
	for _, s := range []string{".symtab", ".debug_info", ".zdebug_info"} {
		if f.Section(s) != nil {
			t.Fatalf("%s is not stripped: it has %s", path, s)
		}
	}
}

// Scenario is an existing test run again as a subtest of a variant test.
type Scenario struct {
	Name string
	Run  func(*testing.T)
	// Fixture, when set, is a fixture of the scenario checked to come out
	// of the variant's build stripped.
	Fixture string
}

// RunStripped runs each scenario unchanged as a subtest of t against
// fixtures built with Stripped, after checking its Fixture is stripped.
func RunStripped(t *testing.T, scenarios ...Scenario) {
	t.Helper()
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) {
			WithOptions(t, Stripped)
			if s.Fixture != "" {
				RequireStripped(t, Build(t, s.Fixture))
			}
			s.Run(t)
		})
	}
}
