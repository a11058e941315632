package vmtest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// selftest checks the VM harness itself on every kernel.
var selftest = TestBinary{
	Package: "./internal/vmtest/selftest",
	Args:    []string{"-test.v", "-test.count=1"},
}

// kernelCaps checks the capability table (internal/kernel: Features)
// against what uid 65534 with each capability set can do on every kernel,
// and measures Yama's ptrace_scope (the VM kernels have Yama).
var kernelCaps = TestBinary{
	Package: "./internal/kernel",
	Args:    []string{"-test.v", "-test.count=1", "-test.run", "^(TestCapabilityTable|TestDetectCoherent|TestYamaPtraceScope)$"},
	Want:    []string{"TestCapabilityTable", "TestDetectCoherent", "TestYamaPtraceScope"},
}

// Suite returns the test binaries that the kernel matrix (make
// test-kernels, TestKernels) runs on every kernel: the harness self-test,
// the capability table, then one binary per probe package with the tests its probes declare
// (probe.Probe.KernelTests), each of which must pass.
func Suite() []TestBinary {
	return append([]TestBinary{selftest, kernelCaps}, probeBinaries(probes.All())...)
}

// probeBinaries groups the probes' kernel tests by Go package, in probe
// order.
func probeBinaries(ps []probe.Probe) []TestBinary {
	var out []TestBinary
	index := map[string]int{}
	skips := map[string][]string{}
	short := map[string]bool{}
	for _, p := range ps {
		pkg := probe.PackageOf(p)
		kt := p.KernelTests()
		i, ok := index[pkg]
		if !ok {
			i = len(out)
			index[pkg] = i
			out = append(out, TestBinary{Package: pkg, Builds: map[string]string{}})
		}
		b := &out[i]
		for _, t := range kt.Tests {
			if !slices.Contains(b.Want, t) {
				b.Want = append(b.Want, t)
			}
		}
		maps.Copy(b.Builds, kt.Fixtures)
		if kt.Skip != "" {
			skips[pkg] = append(skips[pkg], kt.Skip)
		}
		short[pkg] = short[pkg] || kt.Short
	}
	for i := range out {
		b := &out[i]
		quoted := make([]string, len(b.Want))
		for j, t := range b.Want {
			quoted[j] = regexp.QuoteMeta(t)
		}
		b.Args = []string{"-test.v", "-test.count=1", "-test.run", "^(" + strings.Join(quoted, "|") + ")$"}
		if s := skips[b.Package]; len(s) > 0 {
			b.Args = append(b.Args, "-test.skip", strings.Join(s, "|"))
		}
		if short[b.Package] {
			b.Args = append(b.Args, "-test.short")
		}
	}
	return out
}

// EnvRun names the variable that selects tests of the kernel matrix
// (TestKernels, make test-kernels): a regular expression matched against
// "BINARY/TEST" (binary name, top-level test: "databasesql/TestUnprivileged",
// "kernel/TestCapabilityTable"); unset or empty runs the whole Suite.
const EnvRun = "SONDE_VM_RUN"

// Select keeps, of bins, the tests whose "BINARY/TEST" matches re, and the
// binaries that keep one; a binary's -test.run then lists only those. A
// binary without Want (the harness self-test) is kept whole when re
// matches "BINARY/".
func Select(bins []TestBinary, re *regexp.Regexp) ([]TestBinary, error) {
	var out []TestBinary
	for _, b := range bins {
		name, err := b.name()
		if err != nil {
			return nil, err
		}
		if len(b.Want) == 0 {
			if re.MatchString(name + "/") {
				out = append(out, b)
			}
			continue
		}
		var want, quoted []string
		for _, t := range b.Want {
			if re.MatchString(name + "/" + t) {
				want = append(want, t)
				quoted = append(quoted, regexp.QuoteMeta(t))
			}
		}
		if len(want) == 0 {
			continue
		}
		b.Want = want
		b.Args = slices.Clone(b.Args)
		i := slices.Index(b.Args, "-test.run")
		if i < 0 || i+1 >= len(b.Args) {
			return nil, fmt.Errorf("test binary %s: no -test.run to narrow", name)
		}
		b.Args[i+1] = "^(" + strings.Join(quoted, "|") + ")$"
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s=%s selects no test", EnvRun, re)
	}
	return out, nil
}
