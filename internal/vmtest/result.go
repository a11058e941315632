package vmtest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

// Errors of a VM run; Boot wraps them, test them with errors.Is.
var (
	// ErrTestFailed: a test binary exited non-zero or timed out.
	ErrTestFailed = errors.New("test binary failed")
	// ErrMissingResult: a test binary has no result line (the VM died,
	// or /init never ran it).
	ErrMissingResult = errors.New("no result for test binary")
	// ErrIncomplete: /init did not report that it finished.
	ErrIncomplete = errors.New("vm did not finish")
	// ErrTimeout: the VM ran past its timeout and was killed.
	ErrTimeout = errors.New("vm timed out")
	// ErrNotPassed: a test the matrix wants did not report a pass.
	ErrNotPassed = errors.New("wanted test did not pass")
)

// Result is what one VM run reported.
type Result struct {
	// Kernel is the kernel that was booted.
	Kernel Kernel
	// Release and Lockdown are what /init saw (uname -r, lockdown mode).
	Release, Lockdown string
	// Binaries are the results in the order /init reported them.
	Binaries []BinaryResult
	// Done is true when /init reported that it finished.
	Done bool
	// Console is the whole console output.
	Console string
	// Duration is qemu's wall time: boot, tests and power off.
	Duration time.Duration
}

// BinaryResult is one test binary's outcome.
type BinaryResult struct {
	vmenv.Result
	// Output is the binary's output, one line an entry, without prefix.
	Output []string
	// Skipped names the tests that reported "--- SKIP".
	Skipped []string
	// Passed names the tests that reported "--- PASS".
	Passed []string
}

// Binary returns the result of the named binary, or nil.
func (r *Result) Binary(name string) *BinaryResult {
	for i := range r.Binaries {
		if r.Binaries[i].Name == name {
			return &r.Binaries[i]
		}
	}
	return nil
}

// Err checks the result against the binaries that should have run: every
// one must have a zero-exit result line, and /init must have finished.
func (r *Result) Err(want []string) error {
	var errs []error
	for _, name := range want {
		b := r.Binary(name)
		switch {
		case b == nil:
			errs = append(errs, fmt.Errorf("%s: %w", name, ErrMissingResult))
		case b.TimedOut:
			errs = append(errs, fmt.Errorf("%s: timed out after %s: %w", name, b.Duration, ErrTestFailed))
		case b.Exit != 0:
			errs = append(errs, fmt.Errorf("%s: exit status %d: %w", name, b.Exit, ErrTestFailed))
		}
	}
	if !r.Done {
		errs = append(errs, ErrIncomplete)
	}
	return errors.Join(errs...)
}

// consoleParser turns console lines into a Result as they arrive.
type consoleParser struct {
	res     *Result
	output  map[string][]string
	console strings.Builder
}

func newConsoleParser(res *Result) *consoleParser {
	return &consoleParser{res: res, output: map[string][]string{}}
}

// line feeds one console line (without line ending).
func (p *consoleParser) line(l string) {
	p.console.WriteString(l)
	p.console.WriteByte('\n')
	switch {
	case strings.Contains(l, vmenv.ResultMarker+" "):
		r, err := vmenv.ParseResult(l)
		if err != nil {
			return
		}
		out := p.output[r.Name]
		p.res.Binaries = append(p.res.Binaries, BinaryResult{Result: r, Output: out,
			Skipped: reported(out, "--- SKIP: "), Passed: reported(out, "--- PASS: ")})
	case strings.Contains(l, vmenv.KernelMarker+" "):
		kv := vmenv.KeyValues(l[strings.Index(l, vmenv.KernelMarker):])
		p.res.Release, p.res.Lockdown = kv["release"], kv["lockdown"]
	case strings.HasSuffix(l, vmenv.DoneMarker):
		p.res.Done = true
	default:
		if name, rest, ok := strings.Cut(l, vmenv.OutputSep); ok && validName.MatchString(name) {
			p.output[name] = append(p.output[name], rest)
		}
	}
}

// finish stores the whole console in the result.
func (p *consoleParser) finish() { p.res.Console = p.console.String() }

// WantPassed checks that every wanted test of each binary reported a pass
// (tests by binary name).
func (r *Result) WantPassed(tests map[string][]string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(tests)) {
		want := tests[name]
		var passed []string
		if b := r.Binary(name); b != nil {
			passed = b.Passed
		}
		for _, w := range want {
			if !slices.Contains(passed, w) {
				errs = append(errs, fmt.Errorf("%s: %s: %w", name, w, ErrNotPassed))
			}
		}
	}
	return errors.Join(errs...)
}

// reported returns the test names of "<prefix>Name (0.00s)" lines, e.g.
// "--- SKIP: ", subtests included.
func reported(out []string, prefix string) []string {
	var names []string
	for _, l := range out {
		l = strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(l, prefix); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				names = append(names, f[0])
			}
		}
	}
	return names
}
