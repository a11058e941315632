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
	all   []gosym.Func // every function, by increasing entry (sites.go)
	text  uint64       // runtime.text: function offsets are relative to it
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
	if err := checkPcHeader(data); err != nil {
		return nil, fmt.Errorf("%s: %w: pclntab at %#x: %w", f.path, ErrCorrupt, addr, err)
	}
	text, err := f.textStart(addr, data)
	if err != nil {
		return nil, err
	}
	if end := pclnTextEnd(data); !f.inCode(text, end) {
		return nil, fmt.Errorf("%s: %w: pclntab at %#x: functions span %#x bytes from %#x, past the executable segment", f.path, ErrCorrupt, addr, end, text)
	}
	t, err := parsePcln(data, text)
	if err != nil {
		return nil, fmt.Errorf("parsing pclntab at %#x: %w", addr, err)
	}
	return t, nil
}

// parsePcln parses a pclntab that checkPcHeader accepted, with function
// offsets relative to text.
func parsePcln(data []byte, text uint64) (*pclnTable, error) {
	tab, err := gosym.NewTable(nil, gosym.NewLineTable(data, text))
	if err != nil {
		return nil, err
	}
	if len(tab.Funcs) == 0 {
		return nil, errors.New("no functions")
	}
	t := &pclnTable{funcs: make(map[string]*gosym.Func, len(tab.Funcs)), all: tab.Funcs, text: text}
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

// pcHeaderSize is the size of the Go 1.18+ pcHeader: magic, pads, quantum,
// pointer size, then nfunc, nfiles, textStart and five table offsets.
const pcHeaderSize = 8 + 8*8

// maxPclnFuncs bounds the function count of a pclntab. debug/gosym
// allocates about 180 bytes per function before reading any of them; the
// largest Go programs known (Kubernetes components, 100-200 MB binaries)
// have a few hundred thousand functions.
const maxPclnFuncs = 1 << 21

// checkPcHeader checks a Go 1.18+ pclntab against its own size before
// debug/gosym trusts it: every table offset inside the data, a function
// table (nfunc+1 pairs of 32-bit offsets and a trailing entry) and a file
// table that fit, function entries in increasing order with their
// descriptors inside the data. debug/gosym allocates from the header's
// function count alone, so a header that claims 2^32 functions would
// otherwise exhaust memory.
func checkPcHeader(data []byte) error {
	size := uint64(len(data))
	if size < pcHeaderSize {
		return fmt.Errorf("%d bytes, shorter than its %d-byte header", size, pcHeaderSize)
	}
	le := binary.LittleEndian
	// The layout checked here is the one debug/gosym will read: it also
	// accepts big-endian and 4-byte-pointer tables, which Sonde never
	// loads (amd64 and arm64 only).
	if m := le.Uint32(data); m != go118Magic && m != go120Magic || data[4] != 0 || data[5] != 0 || data[7] != 8 {
		return fmt.Errorf("unsupported header % x", data[:8])
	}
	nfunc, nfiles := le.Uint64(data[8:]), le.Uint64(data[16:])
	var off [5]uint64 // funcname, cu, filetab, pctab, pcln (functab)
	for i := range off {
		off[i] = le.Uint64(data[32+8*i:])
		if off[i] < pcHeaderSize || off[i] > size {
			return fmt.Errorf("table offset %#x outside its %d bytes", off[i], size)
		}
	}
	functab := off[4]
	switch {
	case nfunc == 0:
		return errors.New("no functions")
	case nfunc > maxPclnFuncs:
		return fmt.Errorf("%d functions claimed, more than the %d accepted", nfunc, maxPclnFuncs)
	case (2*nfunc+1)*4 > size-functab:
		return fmt.Errorf("%d functions claimed, the function table has room for %d", nfunc, (size-functab)/8)
	case nfiles > (size-off[1])/4:
		return fmt.Errorf("%d files claimed, the compilation unit table has room for %d", nfiles, (size-off[1])/4)
	}
	var prev uint32
	for i := range nfunc + 1 {
		entry := le.Uint32(data[functab+8*i:])
		if i > 0 && entry < prev {
			return fmt.Errorf("function %d starts at %#x, before function %d (%#x)", i, entry, i-1, prev)
		}
		prev = entry
		if i == nfunc {
			break // the last entry is the end of the text, with no descriptor
		}
		if fo := uint64(le.Uint32(data[functab+8*i+4:])); fo+8 > size-functab {
			return fmt.Errorf("descriptor of function %d at %#x outside the function table", i, fo)
		}
	}
	return nil
}

// pclnTextEnd returns the end of the last function, relative to
// runtime.text: the entry after the last one of a checked pclntab.
func pclnTextEnd(data []byte) uint64 {
	le := binary.LittleEndian
	nfunc, functab := le.Uint64(data[8:]), le.Uint64(data[64:])
	return uint64(le.Uint32(data[functab+8*nfunc:]))
}

// isPcHeader reports whether b starts with a Go 1.18+ pcHeader for this
// architecture: magic, two zero bytes, instruction size quantum, pointer
// size 8.
func (f *File) isPcHeader(b []byte) bool {
	if len(b) < pcHeaderSize {
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
