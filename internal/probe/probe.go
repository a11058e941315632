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

// Var sets one volatile const of the probe's BPF spec.
type Var struct {
	Name  string
	Value any
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
	// Decoders returns the event decoders by event kind.
	Decoders(t *Target) map[uint32]pipeline.Decoder
}
