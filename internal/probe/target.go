package probe

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"sync"

	"github.com/go-logr/logr"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/process"
)

// Target is what probes see of the process being instrumented.
type Target struct {
	PID   int
	Exe   string // path used to attach: /proc/PID/exe
	Bin   *binary.File
	DWARF *dwarf.Data // nil when the binary has no DWARF
	// DWARFErr says why DWARF is nil: it wraps binary.ErrNoDWARF when the
	// binary has none, and is the read error when it is unreadable.
	DWARFErr error
	Bias     uint64 // runtime address minus link-time address (PIE)
	Facts    *kernel.Facts
	Logger   logr.Logger
	// Settings holds the value of every setting the probes declare (see
	// Configurable), defaults included.
	Settings Settings
	// Sampler is the sampling applied in BPF; nil means DefaultSampler.
	Sampler *Sampler
	// OffsetsTable is the versioned offsets table used without DWARF;
	// nil means the embedded one (offsets.Builtin).
	OffsetsTable *offsets.VersionTable
	// ClassicSites keeps the first-byte entry and ret return sites of
	// every hook instead of emulated instructions (placement.go).
	ClassicSites bool

	// dwarfIndex indexes DWARF (the one it was built of: dwarfOf) for
	// Offsets, built on first use.
	dwarfIndex *offsets.DWARFIndex
	dwarfOf    *dwarf.Data

	// sentinelData maps the (itab, data) words of standard sentinel errors
	// to their names (ErrorType), read on first use.
	sentinelData  map[[2]uint64]string
	sentinelOnce  sync.Once
	sentinelAddrs map[string]uint64 // by PrepareDecoding; nil: ask Symbol
}

// NewTarget opens the executable of pid and reads what probes need.
func NewTarget(pid int, log logr.Logger) (*Target, error) {
	exe := process.ExeFile(pid)
	bin, err := binary.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("opening executable of pid %d: %w", pid, err)
	}
	t := &Target{PID: pid, Exe: exe, Bin: bin, Facts: kernel.Detect(), Logger: log}
	t.DWARF, t.DWARFErr = bin.DWARF()
	if bin.PIE() {
		bias, err := process.LoadBias(pid, exe)
		if err != nil {
			bin.Close()
			return nil, fmt.Errorf("reading load address of pid %d: %w", pid, err)
		}
		t.Bias = bias
	}
	return t, nil
}

// NoDWARFReason says why the target has no DWARF, for messages.
func (t *Target) NoDWARFReason() string {
	if t.DWARFErr != nil && !errors.Is(t.DWARFErr, binary.ErrNoDWARF) {
		return fmt.Sprintf("DWARF unreadable (%v)", t.DWARFErr)
	}
	return "no DWARF in the binary (built with -ldflags=-w?)"
}

// Close releases the opened binary.
func (t *Target) Close() error { return t.Bin.Close() }

// Symbol returns the runtime address of a symbol of the symbol table (data
// symbols such as itabs included), and false when it is absent. The table
// is the binary's (binary.File.SymbolAddr): no second copy is kept.
func (t *Target) Symbol(names ...string) (uint64, bool) {
	for _, n := range names {
		if v, ok := t.Bin.SymbolAddr(n); ok {
			return v + t.Bias, true
		}
	}
	return 0, false
}

// Itab returns the runtime address of the itab of concrete type typ for
// interface iface, e.g. Itab("*context.cancelCtx", "context.Context"),
// or 0 when neither the symbol table nor the itab list has it.
func (t *Target) Itab(typ, iface string) uint64 {
	if a, ok := t.Bin.Itab(typ, iface); ok {
		return a + t.Bias
	}
	return 0
}

// ItabType returns the concrete type of the itab at runtime address addr
// (e.g. "*net.OpError"), or "" when unknown. It reads the itab list, which
// holds every itab the linker made (those of the symbol table); decoders
// call it after attach, so Load reads the list while attaching
// (PrepareDecoding).
func (t *Target) ItabType(addr uint64) string {
	return t.Bin.ItabType(addr - t.Bias)
}

// PrepareDecoding reads, while the binary's tables are still parsed, what
// decoders use after attach (the itab list, the addresses of the sentinel
// errors' variables), so that a decoder never parses the symbol table
// again once ReleaseTables dropped it. The sentinels' values are read from
// the process at the first error, when its package initialization has
// run.
func (t *Target) PrepareDecoding() {
	t.Bin.ItabType(0)
	addrs := map[string]uint64{}
	for _, name := range sentinels {
		if a, ok := t.Symbol(name); ok {
			addrs[name] = a
		}
	}
	t.sentinelAddrs = addrs
}

// ItabTypeAddr returns the runtime address of the type descriptor that the
// itab of concrete type typ for interface iface points to (itab._type, the
// word after itab.inter): what an `any` holding a value of typ carries as
// its type word. It returns 0 when the itab is unknown.
func (t *Target) ItabTypeAddr(typ, iface string) uint64 {
	a := t.Itab(typ, iface)
	if a == 0 {
		return 0
	}
	v, err := t.Bin.ReadPtr(a - t.Bias + 8)
	if err != nil || v == 0 {
		return 0
	}
	return v + t.Bias
}

// ReleaseDWARF drops the DWARF and what was built of it: once every probe
// has its offsets, attaching needs none of it.
func (t *Target) ReleaseDWARF() {
	t.DWARF, t.dwarfIndex, t.dwarfOf = nil, nil, nil
	t.Bin.ReleaseDWARF()
}
