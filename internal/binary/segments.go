package binary

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// fileOffset converts the virtual address of code to its offset in the
// file, through the executable PT_LOAD segment that holds it.
func (f *File) fileOffset(addr uint64) (uint64, error) {
	for _, p := range f.elf.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 &&
			addr >= p.Vaddr && addr < p.Vaddr+p.Filesz {
			return addr - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no executable segment", addr)
}

// inCode reports whether [addr, addr+n) lies in the file image of one
// executable PT_LOAD segment.
func (f *File) inCode(addr, n uint64) bool {
	for _, p := range f.elf.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 &&
			addr >= p.Vaddr && n <= p.Filesz && addr-p.Vaddr <= p.Filesz-n {
			return true
		}
	}
	return false
}

// readAt reads n bytes at virtual address addr from the file image of the
// PT_LOAD segment that holds them.
func (f *File) readAt(addr, n uint64) ([]byte, error) {
	for _, p := range f.elf.Progs {
		if p.Type != elf.PT_LOAD || addr < p.Vaddr || n > p.Filesz || addr-p.Vaddr > p.Filesz-n {
			continue
		}
		b := make([]byte, n)
		if _, err := f.osf.ReadAt(b, int64(addr-p.Vaddr+p.Off)); err != nil {
			return nil, fmt.Errorf("reading %d bytes at %#x: %w", n, addr, err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("address range %#x+%d is in no loaded segment", addr, n)
}

// segmentData returns the file image of a PT_LOAD segment.
func segmentData(p *elf.Prog) ([]byte, error) {
	b := make([]byte, p.Filesz)
	if _, err := io.ReadFull(p.Open(), b); err != nil {
		return nil, fmt.Errorf("reading segment at %#x: %w", p.Vaddr, err)
	}
	return b, nil
}

// relativeRelocs maps the addresses patched by R_*_RELATIVE dynamic
// relocations to their addends. Linkers that do not also store the value in
// place (lld, for instance) leave zeros in the file at those addresses.
func (f *File) relativeRelocs() map[uint64]uint64 {
	var relative uint32
	switch f.elf.Machine {
	case elf.EM_X86_64:
		relative = uint32(elf.R_X86_64_RELATIVE)
	case elf.EM_AARCH64:
		relative = uint32(elf.R_AARCH64_RELATIVE)
	}
	m := map[uint64]uint64{}
	for _, s := range f.elf.Sections {
		if s.Type != elf.SHT_RELA || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			continue
		}
		for i := 0; i+24 <= len(data); i += 24 {
			off := binary.LittleEndian.Uint64(data[i:])
			info := binary.LittleEndian.Uint64(data[i+8:])
			if uint32(info) == relative {
				m[off] = binary.LittleEndian.Uint64(data[i+16:])
			}
		}
	}
	return m
}

// readPtr reads a pointer-sized word at addr, taking the addend of its
// relative relocation when the file holds zero there.
func (f *File) readPtr(addr uint64, relocs map[uint64]uint64) (uint64, error) {
	b, err := f.readAt(addr, 8)
	if err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint64(b)
	if v == 0 && relocs != nil {
		v = relocs[addr]
	}
	return v, nil
}

// symbol is what is kept of a symbol table entry.
type symbol struct {
	Value, Size uint64
	Info        byte
}

// symbols returns the symbol table by name (the first symbol of each
// name), or an empty map when there is none or it cannot be read, as
// debug/elf's Symbols reads it. The table is read a chunk at a time.
func (f *File) symbols() map[string]symbol {
	f.symsOnce.Do(func() {
		f.syms = map[string]symbol{}
		tab := f.elf.SectionByType(elf.SHT_SYMTAB)
		if tab == nil || tab.Size == 0 || tab.Size%elf.Sym64Size != 0 || f.elf.Class != elf.ELFCLASS64 {
			return
		}
		if tab.Link <= 0 || int(tab.Link) >= len(f.elf.Sections) {
			return
		}
		strs, err := f.elf.Sections[tab.Link].Data()
		if err != nil {
			return
		}
		bo := f.elf.ByteOrder
		err = scanSection(tab, 0, elf.Sym64Size-1, func(b []byte, lo, hi int, base uint64) {
			i := uint64(lo)
			if r := (base + i) % elf.Sym64Size; r != 0 {
				i += elf.Sym64Size - r
			}
			for ; i < uint64(hi) && i+elf.Sym64Size <= uint64(len(b)); i += elf.Sym64Size {
				if base+i == 0 {
					continue // the first entry is all zeros
				}
				e := b[i : i+elf.Sym64Size]
				s := symbol{Info: e[4], Value: bo.Uint64(e[8:]), Size: bo.Uint64(e[16:])}
				name := symbolName(strs, bo.Uint32(e[0:]))
				if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 && !f.inCode(s.Value, s.Size) {
					continue // a hostile or damaged size: the pclntab is asked instead
				}
				if _, dup := f.syms[string(name)]; !dup && len(name) > 0 {
					f.syms[string(name)] = s
				}
			}
		})
		if err != nil {
			f.syms = map[string]symbol{}
		}
	})
	return f.syms
}

// symbolName returns the name at off in the string table strs, nil when
// there is none (as debug/elf reads it).
func symbolName(strs []byte, off uint32) []byte {
	if uint64(off) >= uint64(len(strs)) {
		return nil
	}
	n := bytes.IndexByte(strs[off:], 0)
	if n < 0 {
		return nil
	}
	return strs[off : uint64(off)+uint64(n)]
}

// SymbolAddr returns the link-time value of a symbol of any type (data
// symbols included) from the symbol table, and false when it is absent or
// there is no table.
func (f *File) SymbolAddr(name string) (uint64, bool) {
	s, ok := f.symbols()[name]
	return s.Value, ok
}

// runtimeBuildVersion reads the string runtime.buildVersion through the
// symbol table, for Go programs whose build info cannot be read.
func (f *File) runtimeBuildVersion() string {
	addr, ok := f.SymbolAddr("runtime.buildVersion")
	if !ok {
		return ""
	}
	ptr, err := f.readPtr(addr, nil)
	if err != nil {
		return ""
	}
	n, err := f.readPtr(addr+8, nil)
	if err != nil || n > 64 {
		return ""
	}
	b, err := f.readAt(ptr, n)
	if err != nil {
		return ""
	}
	return string(b)
}

// ReadPtr reads the pointer stored at the link-time address addr (in the
// file's loaded segments), as the dynamic loader leaves it before adding
// the load bias: a PIE's relative relocations are taken into account.
func (f *File) ReadPtr(addr uint64) (uint64, error) {
	var relocs map[uint64]uint64
	if f.PIE() {
		relocs = f.relativeRelocs()
	}
	return f.readPtr(addr, relocs)
}
