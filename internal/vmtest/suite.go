package vmtest

import (
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
// against what uid 65534 with each capability set can do on every kernel.
var kernelCaps = TestBinary{
	Package: "./internal/kernel",
	Args:    []string{"-test.v", "-test.count=1", "-test.run", "^(TestCapabilityTable|TestDetectCoherent)$"},
	Want:    []string{"TestCapabilityTable", "TestDetectCoherent"},
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
