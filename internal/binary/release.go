package binary

import "errors"

// errDWARFReleased is what DWARF returns after ReleaseDWARF.
var errDWARFReleased = errors.New("DWARF released after attach")

// ReleaseDWARF drops the parsed DWARF (several MiB for a large binary):
// callers keep it only until every probe has its offsets. DWARF returns
// an error afterwards.
func (f *File) ReleaseDWARF() {
	f.dwarfOnce.Do(func() {})
	f.dwarf, f.dwarfErr = nil, errDWARFReleased
}
