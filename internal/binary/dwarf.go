package binary

import (
	"debug/dwarf"
	"fmt"
)

// DWARF returns the executable's DWARF data, parsed once. It returns an
// error wrapping ErrNoDWARF when the executable has none (-ldflags=-w).
func (f *File) DWARF() (*dwarf.Data, error) {
	f.dwarfOnce.Do(func() {
		if f.elf.Section(".debug_info") == nil && f.elf.Section(".zdebug_info") == nil {
			f.dwarfErr = fmt.Errorf("%s: %w", f.path, ErrNoDWARF)
			return
		}
		f.dwarf, f.dwarfErr = f.elf.DWARF()
		if f.dwarfErr != nil {
			f.dwarfErr = fmt.Errorf("reading DWARF of %s: %w", f.path, f.dwarfErr)
		}
	})
	return f.dwarf, f.dwarfErr
}
