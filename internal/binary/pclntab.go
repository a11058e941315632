package binary

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"fmt"
)

// pclntab magic numbers (little endian) of Go 1.18-1.19 and Go 1.20 and
// later, from internal/abi.PCLnTabMagic.
const (
	go118Magic = 0xfffffff0
	go120Magic = 0xfffffff1
)

// Offsets in runtime.moduledata (runtime/symtab.go), unchanged from Go 1.16
// through Go 1.27: pcHeader pointer, five slices, ftab, findfunctab, minpc,
// maxpc, then text.
const (
	moduledataFuncnametab = 8
	moduledataText        = 8 + 6*24 + 3*8
)

// pcHeaderFuncnameOffset is the offset of pcHeader.funcnameOffset for the
// Go 1.18+ layout (magic, pads, nfunc, nfiles, unused textStart).
const pcHeaderFuncnameOffset = 8 + 3*8

var errNoPclntab = errors.New("no Go pclntab")

// pclnTable is the parsed pclntab with its functions by name.
type pclnTable struct {
	funcs map[string]*gosym.Func
}

// pclntab parses the pclntab once.
func (f *File) pclntab() (*pclnTable, error) {
	f.pclnOnce.Do(func() {
		f.pcln, f.pclnErr = f.loadPclntab()
	})
	return f.pcln, f.pclnErr
}

func (f *File) loadPclntab() (*pclnTable, error) {
	data, addr, err := f.findPclntab()
	if err != nil {
		return nil, err
	}
	text, err := f.textStart(addr, data)
	if err != nil {
		return nil, err
	}
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, fmt.Errorf("parsing pclntab: %w", err)
	}
	if len(tab.Funcs) == 0 {
		return nil, fmt.Errorf("parsing pclntab at %#x: no functions", addr)
	}
	t := &pclnTable{funcs: make(map[string]*gosym.Func, len(tab.Funcs))}
	for i := range tab.Funcs {
		fn := &tab.Funcs[i]
		if _, dup := t.funcs[fn.Name]; !dup {
			t.funcs[fn.Name] = fn
		}
	}
	return t, nil
}

// findPclntab returns the pclntab bytes and their virtual address: from its
// section, else from the runtime.pclntab symbol, else by looking for its
// header in the read-only segments (confirmed by a moduledata pointing at
// it).
func (f *File) findPclntab() ([]byte, uint64, error) {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := f.elf.Section(name); s != nil && s.Type != elf.SHT_NOBITS {
			data, err := s.Data()
			if err != nil {
				return nil, 0, fmt.Errorf("reading %s: %w", name, err)
			}
			if !f.isPcHeader(data) {
				return nil, 0, fmt.Errorf("%s: unsupported pclntab header % x", name, data[:min(8, len(data))])
			}
			return data, s.Addr, nil
		}
	}
	if start, ok := f.symbolAddr("runtime.pclntab"); ok {
		if end, ok := f.symbolAddr("runtime.epclntab"); ok && end > start {
			data, err := f.readAt(start, end-start)
			if err == nil && f.isPcHeader(data) {
				return data, start, nil
			}
		}
	}
	return f.scanPclntab()
}

// scanPclntab looks for a pcHeader in the non-executable segments.
func (f *File) scanPclntab() ([]byte, uint64, error) {
	var relocs map[uint64]uint64
	for _, p := range f.elf.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_X != 0 {
			continue
		}
		seg, err := segmentData(p)
		if err != nil {
			return nil, 0, err
		}
		for _, magic := range []uint32{go120Magic, go118Magic} {
			var m [4]byte
			binary.LittleEndian.PutUint32(m[:], magic)
			for _, i := range alignedIndexes(seg, m[:]) {
				if !f.isPcHeader(seg[i:]) {
					continue
				}
				addr := p.Vaddr + uint64(i)
				if relocs == nil && f.PIE() {
					relocs = f.relativeRelocs()
				}
				if _, ok := f.findModuledata(addr, seg[i:], relocs); ok {
					return seg[i:], addr, nil
				}
			}
		}
	}
	return nil, 0, errNoPclntab
}

// isPcHeader reports whether b starts with a Go 1.18+ pcHeader for this
// architecture: magic, two zero bytes, instruction size quantum, pointer
// size 8.
func (f *File) isPcHeader(b []byte) bool {
	if len(b) < 64 {
		return false
	}
	magic := binary.LittleEndian.Uint32(b)
	quantum := byte(1)
	if f.arch == "arm64" {
		quantum = 4
	}
	return (magic == go118Magic || magic == go120Magic) &&
		b[4] == 0 && b[5] == 0 && b[6] == quantum && b[7] == 8
}

// findModuledata returns the address of the runtime.moduledata whose
// pcHeader is the pclntab at pclnAddr: its first word points to the
// pclntab and its second to the function name table.
func (f *File) findModuledata(pclnAddr uint64, pcln []byte, relocs map[uint64]uint64) (uint64, bool) {
	funcnames := pclnAddr + binary.LittleEndian.Uint64(pcln[pcHeaderFuncnameOffset:])
	var want [16]byte
	binary.LittleEndian.PutUint64(want[:], pclnAddr)
	binary.LittleEndian.PutUint64(want[8:], funcnames)
	for _, p := range f.elf.Progs {
		if p.Type != elf.PT_LOAD || p.Flags&elf.PF_W == 0 {
			continue
		}
		seg, err := segmentData(p)
		if err != nil {
			continue
		}
		if idx := alignedIndexes(seg, want[:]); len(idx) > 0 {
			return p.Vaddr + uint64(idx[0]), true
		}
	}
	// Linkers that keep relocated words zero in the file: find the
	// moduledata through its relocations instead.
	for addr, v := range relocs {
		if v == pclnAddr && relocs[addr+moduledataFuncnametab] == funcnames {
			return addr, true
		}
	}
	return 0, false
}

// textStart returns the address that pclntab function offsets are relative
// to (runtime.text): from the symbol table, else from runtime.moduledata,
// else the start of .text (right for the Go linker, which puts runtime.text
// first).
func (f *File) textStart(pclnAddr uint64, pcln []byte) (uint64, error) {
	if addr, ok := f.symbolAddr("runtime.text"); ok {
		return addr, nil
	}
	var relocs map[uint64]uint64
	if f.PIE() {
		relocs = f.relativeRelocs()
	}
	if md, ok := f.findModuledata(pclnAddr, pcln, relocs); ok {
		text, err := f.readPtr(md+moduledataText, relocs)
		if err == nil && text != 0 {
			return text, nil
		}
	}
	if s := f.elf.Section(".text"); s != nil {
		return s.Addr, nil
	}
	return 0, errors.New("cannot find runtime.text")
}

// alignedIndexes returns the 8-byte aligned offsets of pat in b.
func alignedIndexes(b, pat []byte) []int {
	var out []int
	for i := 0; i < len(b); {
		j := bytes.Index(b[i:], pat)
		if j < 0 {
			break
		}
		if (i+j)%8 == 0 {
			out = append(out, i+j)
		}
		i += j + 1
	}
	return out
}
