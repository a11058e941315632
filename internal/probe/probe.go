package probe

import (
	"errors"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
)

// ErrNotLinked reports that the target does not contain a probe's library.
var ErrNotLinked = errors.New("library not linked into the target")

// ErrUnsupportedVersion reports a library version the probe does not know.
var ErrUnsupportedVersion = errors.New("unsupported library version")

// Hook attaches one program to a function's entry and another to every
// return instruction of it. Either program name may be empty.
type Hook struct {
	Symbol string // as Go's symbol table spells it
	Entry  string // program name for the entry
	Return string // program name for the return sites
	// Optional hooks may be missing from the target without failing the probe.
	Optional bool
}

// Var sets one volatile const of the probe's BPF spec. Setting a name the
// spec does not declare is an error at load.
type Var struct {
	Name  string
	Value any
}

// KernelTests are the tests of a probe's package that the kernel matrix
// (internal/vmtest, make test-kernels) runs on every kernel. Each must
// pass there: a test that is renamed, skipped or missing fails the matrix.
type KernelTests struct {
	// Tests are top-level test names, run whole.
	Tests []string
	// Skip is a -test.skip pattern for subtests that cannot run in the VM
	// (no network service there), e.g. "TestTodoExample/postgres".
	Skip string
	// Fixtures are the Go programs the tests build, prebuilt for the VM
	// (it has no go command): fixture name -> package directory relative
	// to the module root ("./probes/nethttp/testdata/server").
	Fixtures map[string]string
	// Short runs the tests with -test.short.
	Short bool
}

// Probe is one instrumented library.
type Probe interface {
	// Name is a short human name, e.g. "net/http server".
	Name() string
	// Library is the module path ("std" for the standard library).
	Library() string
	// Spec returns the probe's BPF collection spec (bpf2go output).
	Spec() (*ebpf.CollectionSpec, error)
	// Hooks lists the functions to attach to.
	Hooks() []Hook
	// Fields lists the struct field offsets the probe needs. Optional ones
	// are looked up but may be missing.
	Fields() (required, optional []offsets.Field)
	// Vars computes the probe's own spec variables for a target. It returns
	// an error wrapping ErrUnsupportedVersion when the probe cannot serve it.
	Vars(t *Target, offs offsets.Table) ([]Var, error)
	// Decoders returns the event decoders by event name: the names its C
	// declares with EVENT_KIND(name). The manager numbers the kinds.
	Decoders(t *Target) map[string]pipeline.Decoder
	// KernelTests names the tests that the kernel matrix runs for the
	// probe.
	KernelTests() KernelTests
}
