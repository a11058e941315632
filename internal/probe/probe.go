package probe

import (
	"errors"
	"io"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
)

// ErrNotLinked reports that the target does not contain a probe's library.
var ErrNotLinked = errors.New("library not linked into the target")

// ErrUnsupportedVersion reports a library version the probe does not know.
var ErrUnsupportedVersion = errors.New("unsupported library version")

// ErrDisabled reports a probe that applies to the target but that the
// user's settings leave off.
var ErrDisabled = errors.New("off by setting")

// Hook attaches one program to a function's entry and another to every
// return instruction of it. Either program name may be empty. A probe's
// first required hook is the function it is about: when the target lacks
// it (or every hook), the probe does not apply (ErrNotLinked); another
// required hook missing is a failure.
type Hook struct {
	Symbol string // as Go's symbol table spells it
	Entry  string // program name for the entry
	Return string // program name for the return sites
	// Optional hooks may be missing from the target without failing the probe.
	Optional bool
	// MethodTable lets the Return program move to the function's call
	// sites although its method table entry (with its type) is in the
	// binary: set it only for a method whose receiver type the library
	// never puts in an interface, so that only reflection on that type
	// could call it indirectly (such a call would get no return: its span
	// is lost when the goroutine's next call starts another).
	MethodTable bool
	// Store, when set, replaces the Return program where the function's
	// code allows: see StoreHook.
	Store *StoreHook
}

// StoreHook is a program run inside a function once it has stored one
// field of a struct, at the first emulated instruction after that store
// (binary.File.StorePlacement, amd64), instead of the hook's Return
// program at its returns: one cheap probe hit where the returns would be
// single-stepped. Where the code does not allow it, Return is attached.
type StoreHook struct {
	// Field is the struct field whose store marks the site.
	Field offsets.Field
	// Prog is the program attached there.
	Prog string
	// ArgVar is the program's variable that is set to the ABIInternal
	// argument number (sonde/regs.h go_arg) of the register holding the
	// struct's address at the site.
	ArgVar string
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
	// Settings are setting values under which the probe applies to its
	// fixtures where the defaults leave it off on a kernel that allows
	// everything (a mechanism chosen by kernel facts); the contract test
	// (probes/all_test.go) checks it with them.
	Settings map[string]string
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

// SpanType names a concrete type whose values are spans stored in a
// context (trace.ContextWithSpan) and the interface they are stored as,
// e.g. {"*go.opentelemetry.io/auto/sdk.span", "go.opentelemetry.io/otel/trace.Span"}.
type SpanType struct{ Type, Iface string }

// ContextSpans is implemented by probes whose spans live in contexts as
// values: the probe registers each span in spans_by_ctx under its data
// pointer, and every probe's parent walk then finds it in a context that
// holds it (span.h, ctx_lookup).
type ContextSpans interface {
	ContextSpanTypes() []SpanType
}

// Attacher is implemented by probes that act on the target once their
// programs are attached, such as switching a flag on from user space
// (process memory writes work under kernel lockdown). An error unloads
// the probe.
type Attacher interface {
	Attached(t *Target) error
}

// Annotators is implemented by probes that emit events which change a
// span of another event instead of being spans themselves: they return the
// annotators by event name (EVENT_KIND), like Decoders.
type Annotators interface {
	Annotators(t *Target) map[string]pipeline.Annotator
}

// WriteVariant is implemented by probes with a second BPF object that
// also writes into the target with bpf_probe_write_user (e.g. span IDs the
// app can then see). The manager loads it instead of Spec where the kernel
// allows that helper; its programs, maps and variables are Spec's. Spec
// alone must work everywhere.
type WriteVariant interface {
	WriteSpec() (*ebpf.CollectionSpec, error)
}

// Linker is implemented by probes with programs that attach elsewhere than
// to the target's functions (sock_ops on a cgroup, sk_msg on a socket
// map): the manager calls Link with the probe's loaded collection once its
// uprobes are attached, and closes what it returns before anything else
// when it closes. An error unloads the probe.
type Linker interface {
	Link(t *Target, coll *ebpf.Collection) (io.Closer, error)
}

// OwnCounters is implemented by probes that count events in a BPF map of
// their own: CounterMap names it (an ARRAY or PERCPU_ARRAY of u64 indexed
// by counter), CounterNames names the counters. Manager.ProbeCounters
// reads them.
type OwnCounters interface {
	CounterMap() string
	CounterNames() map[uint32]string
}
