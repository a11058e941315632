package binary

import (
	"errors"
	"sync"
)

// errDWARFReleased is what DWARF returns after ReleaseDWARF.
var errDWARFReleased = errors.New("DWARF released after attach")

// ReleaseDWARF drops the parsed DWARF (several MiB for a large binary):
// callers keep it only until every probe has its offsets. DWARF returns
// an error afterwards.
func (f *File) ReleaseDWARF() {
	f.dwarfOnce.Do(func() {})
	f.dwarf, f.dwarfErr = nil, errDWARFReleased
}

// ReleaseTables drops the parsed pclntab and symbol table (a few bytes
// per function, an entry and a name per symbol):
// attaching needs them, decoding spans does not. A later use reads them
// again. Not safe to call while another goroutine uses f.
func (f *File) ReleaseTables() {
	f.pclnOnce = sync.Once{}
	f.pcln, f.pclnErr = nil, nil
	f.symsOnce = sync.Once{}
	f.syms = nil
}
