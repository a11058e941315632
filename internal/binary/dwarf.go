package binary

import (
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
)

// maxDWARFBytes bounds the uncompressed size of the DWARF sections read.
// Go compresses DWARF (zlib, up to about 1000:1), so a small hostile file
// can claim gigabytes; the DWARF of the largest Go programs is a few
// hundred megabytes uncompressed.
const maxDWARFBytes = 1 << 30

// DWARF returns the executable's DWARF data, parsed once. It returns an
// error wrapping ErrNoDWARF when the executable has none (-ldflags=-w), and
// one wrapping ErrCorrupt when its sections claim more than maxDWARFBytes.
// Only the debugging information entries and what they refer to are read:
// the line tables, call frame information and location lists (half of a
// Go program's DWARF, uncompressed) are not, so that the Data has no line
// table (LineReader gives nil).
func (f *File) DWARF() (*dwarf.Data, error) {
	f.dwarfOnce.Do(func() {
		if f.elf.Section(".debug_info") == nil && f.elf.Section(".zdebug_info") == nil {
			f.dwarfErr = fmt.Errorf("%s: %w", f.path, ErrNoDWARF)
			return
		}
		if n := dwarfSize(f.elf); n > maxDWARFBytes {
			f.dwarfErr = fmt.Errorf("reading DWARF of %s: %w: its sections claim %d bytes uncompressed, more than the %d accepted",
				f.path, ErrCorrupt, n, maxDWARFBytes)
			return
		}
		f.dwarf, f.dwarfErr = dwarfEntriesOnly(f.elf).DWARF()
		if f.dwarfErr != nil {
			f.dwarfErr = fmt.Errorf("reading DWARF of %s: %w", f.path, f.dwarfErr)
		}
	})
	return f.dwarf, f.dwarfErr
}

// dwarfSkipped are the DWARF sections that DWARF does not read (by their
// name after .debug_ or .zdebug_): debug/dwarf keeps .debug_line for
// LineReader and reads the others only to drop them.
var dwarfSkipped = map[string]bool{"line": true, "frame": true, "loc": true, "loclists": true}

// dwarfEntriesOnly returns a copy of ef whose sections in dwarfSkipped are
// renamed so that debug/elf's DWARF passes them over (their indexes, which
// relocation sections refer to, unchanged).
func dwarfEntriesOnly(ef *elf.File) *elf.File {
	c := *ef
	c.Sections = slices.Clone(ef.Sections)
	for i, s := range c.Sections {
		name, ok := strings.CutPrefix(s.Name, ".debug_")
		if !ok {
			name, ok = strings.CutPrefix(s.Name, ".zdebug_")
		}
		if ok && dwarfSkipped[name] {
			hidden := *s
			hidden.Name = ""
			c.Sections[i] = &hidden
		}
	}
	return &c
}

// dwarfSize adds up the uncompressed sizes the DWARF sections claim: the
// section size for plain and SHF_COMPRESSED sections (debug/elf reads the
// compression header), the size in the "ZLIB" header of GNU .zdebug ones.
func dwarfSize(ef *elf.File) uint64 {
	var total uint64
	for _, s := range ef.Sections {
		switch {
		case strings.HasPrefix(s.Name, ".zdebug_"):
			var hdr [12]byte
			if n, _ := s.ReadAt(hdr[:], 0); n == len(hdr) && string(hdr[:4]) == "ZLIB" {
				total += min(binary.BigEndian.Uint64(hdr[4:]), 1<<62)
				continue
			}
			total += s.FileSize
		case strings.HasPrefix(s.Name, ".debug_"):
			total += min(s.Size, 1<<62)
		}
	}
	return total
}
