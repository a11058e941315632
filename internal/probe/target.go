package probe

import (
	"debug/dwarf"
	"fmt"

	"github.com/go-logr/logr"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/process"
)

// Target is what probes see of the process being instrumented.
type Target struct {
	PID    int
	Exe    string // path used to attach: /proc/PID/exe
	Bin    *binary.File
	DWARF  *dwarf.Data // nil when the binary has no DWARF
	Bias   uint64      // runtime address minus link-time address (PIE)
	Facts  *kernel.Facts
	Logger logr.Logger
	// Settings are the user's switches that change what probes record.
	Settings Settings

	syms map[string]uint64 // symbol table, read on first use
}

// Settings are the user's switches that change what probes record.
type Settings struct {
	IncludeDBStatement bool // add db.query.text
	DBStatementRaw     bool // keep literals in db.query.text
	ParseDBStatement   bool // name database spans "{operation} {table}"
	GlobalAuto         bool // switch on the OTel global tracer's auto path
}

// NewTarget opens the executable of pid and reads what probes need.
func NewTarget(pid int, log logr.Logger) (*Target, error) {
	exe := process.ExeFile(pid)
	bin, err := binary.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("opening executable of pid %d: %w", pid, err)
	}
	t := &Target{PID: pid, Exe: exe, Bin: bin, Facts: kernel.Detect(), Logger: log}
	if d, err := bin.DWARF(); err == nil {
		t.DWARF = d
	}
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

// Close releases the opened binary.
func (t *Target) Close() error { return t.Bin.Close() }

// Symbol returns the runtime address of a symbol of the symbol table (data
// symbols such as itabs included), and false when it is absent.
func (t *Target) Symbol(names ...string) (uint64, bool) {
	if t.syms == nil {
		t.syms = map[string]uint64{}
		syms, _ := t.Bin.ELF().Symbols() // none when stripped
		for _, s := range syms {
			if s.Value != 0 {
				t.syms[s.Name] = s.Value
			}
		}
	}
	for _, n := range names {
		if v, ok := t.syms[n]; ok {
			return v + t.Bias, true
		}
	}
	return 0, false
}

// Itab returns the runtime address of the itab of concrete type typ for
// interface iface, e.g. Itab("*context.cancelCtx", "context.Context"),
// or 0 when the symbol table does not have it.
func (t *Target) Itab(typ, iface string) uint64 {
	a, _ := t.Symbol("go:itab."+typ+","+iface, "go.itab."+typ+","+iface)
	return a
}
