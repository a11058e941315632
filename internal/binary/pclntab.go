package binary

import (
	"bytes"
	"cmp"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unsafe"
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

// pclnTable is what is kept of the pclntab: each function's entry, end and
// name, in compact form (a few bytes per function and its name, where
// debug/gosym keeps the whole table and some 200 bytes per function).
type pclnTable struct {
	text uint64 // runtime.text: function offsets are relative to it
	// entries are the functions' entries as offsets from text, by
	// increasing entry, and the end of the last: function i is
	// [entries[i], entries[i+1]).
	entries []uint32
	names   []uint32 // offset in the name table of function i's name
	// nametab is the name table (each name ends in NUL), or nil when the
	// names are read from the file when asked for: at nameAt in nameSrc.
	nametab []byte
	nameSrc io.ReaderAt
	nameAt  int64
	byName  []uint32 // function indexes by name, then by index
}

// count returns the number of functions.
func (t *pclnTable) count() int { return len(t.names) }

// name returns the name of function i.
func (t *pclnTable) name(i int) string {
	return string(t.nameBytes(i))
}

// nameBytes returns the name of function i (not copied from nametab).
func (t *pclnTable) nameBytes(i int) []byte {
	if t.nametab != nil {
		b := t.nametab[t.names[i]:]
		return b[:bytes.IndexByte(b, 0)]
	}
	// parsePclnFrom saw the NUL: a read fails only when the file changed.
	var out []byte
	var buf [128]byte
	for at := t.nameAt + int64(t.names[i]); ; at += int64(len(buf)) {
		n, _ := t.nameSrc.ReadAt(buf[:], at)
		if j := bytes.IndexByte(buf[:n], 0); j >= 0 {
			return append(out, buf[:j]...)
		}
		if n < len(buf) {
			return append(out, buf[:n]...)
		}
		out = append(out, buf[:n]...)
	}
}

// fn returns function i as debug/gosym describes it (entry, end, name).
func (t *pclnTable) fn(i int) *gosym.Func {
	entry := t.text + uint64(t.entries[i])
	return &gosym.Func{Entry: entry, End: t.text + uint64(t.entries[i+1]),
		Sym: &gosym.Sym{Value: entry, Type: 'T', Name: t.name(i)}}
}

// lookup returns the first function named name, or nil.
func (t *pclnTable) lookup(name string) *gosym.Func {
	i, ok := sort.Find(len(t.byName), func(k int) int { return compareName(name, t.nameBytes(int(t.byName[k]))) })
	if !ok {
		return nil
	}
	return t.fn(int(t.byName[i]))
}

// funcAt returns the index of the function holding addr.
func (t *pclnTable) funcAt(addr uint64) (int, bool) {
	if addr < t.text || addr-t.text >= 1<<32 {
		return 0, false
	}
	off := uint32(addr - t.text)
	i := sort.Search(t.count(), func(i int) bool { return t.entries[i] > off }) - 1
	if i < 0 || off >= t.entries[i+1] {
		return 0, false
	}
	return i, true
}

func compareName(a string, b []byte) int {
	return strings.Compare(a, unsafe.String(unsafe.SliceData(b), len(b)))
}

// pclntab parses the pclntab once.
func (f *File) pclntab() (*pclnTable, error) {
	f.pclnOnce.Do(func() {
		f.pcln, f.pclnErr = f.loadPclntab()
	})
	return f.pcln, f.pclnErr
}

// loadPclntab reads of the pclntab only its header, its function table,
// the name offset of each function descriptor and the function names:
// the rest (line and file tables, most of it) stays in the file.
func (f *File) loadPclntab() (*pclnTable, error) {
	src, err := f.findPclnSource()
	if err != nil {
		return nil, err
	}
	addr := src.addr
	corrupt := func(err error) error {
		return fmt.Errorf("%s: %w: pclntab at %#x: %w", f.path, ErrCorrupt, addr, err)
	}
	hdr, err := src.read(0, min(pcHeaderSize, src.size))
	if err != nil {
		return nil, err
	}
	if err := checkPcHeaderFields(hdr, src.size); err != nil {
		return nil, corrupt(err)
	}
	nfunc, functab := binary.LittleEndian.Uint64(hdr[8:]), binary.LittleEndian.Uint64(hdr[64:])
	ft, err := src.read(functab, (2*nfunc+1)*4)
	if err != nil {
		return nil, err
	}
	if err := checkFunctab(ft, nfunc, src.size-functab); err != nil {
		return nil, corrupt(err)
	}
	text, err := f.textStart(addr, hdr)
	if err != nil {
		return nil, err
	}
	if end := uint64(binary.LittleEndian.Uint32(ft[8*nfunc:])); !f.inCode(text, end) {
		return nil, fmt.Errorf("%s: %w: pclntab at %#x: functions span %#x bytes from %#x, past the executable segment", f.path, ErrCorrupt, addr, end, text)
	}
	t, err := parsePclnFrom(src, hdr, ft, text)
	if err != nil {
		return nil, fmt.Errorf("parsing pclntab at %#x: %w", addr, err)
	}
	return t, nil
}

// pclnSource is where a pclntab is read from: its section in the file,
// or bytes read before.
type pclnSource struct {
	r    io.ReaderAt
	size uint64
	addr uint64 // virtual address
	name string // of the section, for errors
}

// read reads n bytes at off.
func (p pclnSource) read(off, n uint64) ([]byte, error) {
	b := make([]byte, n)
	if _, err := p.r.ReadAt(b, int64(off)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("reading %s: %w", p.name, err)
	}
	return b, nil
}

// parsePcln parses a pclntab that checkPcHeader accepted, with function
// offsets relative to text.
func parsePcln(data []byte, text uint64) (*pclnTable, error) {
	functab := binary.LittleEndian.Uint64(data[64:])
	nfunc := binary.LittleEndian.Uint64(data[8:])
	src := pclnSource{r: bytes.NewReader(data), size: uint64(len(data)), name: "pclntab"}
	return parsePclnFrom(src, data[:pcHeaderSize], data[functab:functab+(2*nfunc+1)*4], text)
}

// parsePclnFrom parses the pclntab of src, whose header hdr and function
// table ft passed checkPcHeaderFields and checkFunctab. It reads what
// debug/gosym's Go 1.18+ table gives of each function (entry, end, name)
// and fails where debug/gosym would find no function: a function
// descriptor shorter than its first four fields, a name offset outside
// the table or a name with no NUL.
func parsePclnFrom(src pclnSource, hdr, ft []byte, text uint64) (*pclnTable, error) {
	le := binary.LittleEndian
	if q := hdr[6]; q != 1 && q != 2 && q != 4 {
		return nil, errors.New("no functions") // debug/gosym reads it as a Go 1.1 table
	}
	nfunc := le.Uint64(hdr[8:])
	nameStart, cuStart, functab := le.Uint64(hdr[32:]), le.Uint64(hdr[40:]), le.Uint64(hdr[64:])
	if nfunc == 0 {
		return nil, errors.New("no functions")
	}
	t := &pclnTable{text: text, entries: make([]uint32, nfunc+1), names: make([]uint32, nfunc)}
	for i := range nfunc + 1 {
		t.entries[i] = le.Uint32(ft[8*i:])
	}
	// The name offsets, from the descriptors in the order they are in
	// the table, a chunk at a time.
	order := make([]uint32, nfunc)
	for i := range order {
		order[i] = uint32(i)
		if fo := uint64(le.Uint32(ft[8*i+4:])); fo+16 > src.size-functab {
			return nil, errors.New("no functions")
		}
	}
	fo := func(i uint32) uint32 { return le.Uint32(ft[8*i+4:]) }
	if !slices.IsSortedFunc(order, func(a, b uint32) int { return cmp.Compare(fo(a), fo(b)) }) {
		slices.SortStableFunc(order, func(a, b uint32) int { return cmp.Compare(fo(a), fo(b)) })
	}
	var win []byte
	var winAt uint64 // offset of win in the descriptors
	for _, i := range order {
		at := uint64(fo(i)) + 4
		if at < winAt || at+4 > winAt+uint64(len(win)) {
			winAt = at
			b, err := src.read(functab+at, min(scanChunk, src.size-functab-at))
			if err != nil {
				return nil, err
			}
			win = b
		}
		t.names[i] = le.Uint32(win[at-winAt:])
	}
	win = nil
	// The names: the function name table, which the compilation unit
	// table follows; all that follows it when a name runs past.
	nametab, err := readNames(src, nameStart, cuStart, t.names)
	if err != nil {
		return nil, err
	}
	t.nametab = nametab
	t.byName = order
	for i := range t.byName {
		t.byName[i] = uint32(i)
	}
	slices.SortStableFunc(t.byName, func(a, b uint32) int { return bytes.Compare(t.nameBytes(int(a)), t.nameBytes(int(b))) })
	if _, inMemory := src.r.(*bytes.Reader); !inMemory {
		// Several MB for a large program, asked for a few hundred times
		// while placing probes: read again from the file then.
		t.nametab, t.nameSrc, t.nameAt = nil, src.r, int64(nameStart)
	}
	return t, nil
}

// readNames reads the function names at offsets offs of the name table
// at start: up to end when every name ends (NUL) before it, else up to
// the end of the pclntab. It returns the table up to the end of the last
// name.
func readNames(src pclnSource, start, end uint64, offs []uint32) ([]byte, error) {
	if end <= start {
		end = src.size
	}
	for {
		tab, err := src.read(start, end-start)
		if err != nil {
			return nil, err
		}
		var last uint64
		ok := true
		for _, off := range offs {
			if uint64(off) > uint64(len(tab)) {
				ok = false
				break
			}
			n := bytes.IndexByte(tab[off:], 0)
			if n < 0 {
				ok = false
				break
			}
			last = max(last, uint64(off)+uint64(n)+1)
		}
		switch {
		case ok && last < uint64(len(tab))/2:
			return slices.Clone(tab[:last]), nil
		case ok:
			return tab[:last:last], nil
		case end == src.size:
			return nil, errors.New("no functions")
		}
		end = src.size
	}
}

// findPclntab returns the pclntab bytes and their virtual address (see
// findPclnSource).
func (f *File) findPclntab() ([]byte, uint64, error) {
	src, err := f.findPclnSource()
	if err != nil {
		return nil, 0, err
	}
	data, err := src.read(0, src.size)
	return data, src.addr, err
}

// findPclnSource returns where to read the pclntab: its section, else the
// runtime.pclntab symbol, else the header found in the read-only segments
// (confirmed by a moduledata pointing at it).
func (f *File) findPclnSource() (pclnSource, error) {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		s := f.elf.Section(name)
		if s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		src := pclnSource{r: s, size: s.Size, addr: s.Addr, name: name}
		var hdr []byte
		if s.Flags&elf.SHF_COMPRESSED == 0 && s.FileSize == s.Size {
			// Read in place: its header, and its last byte to know it is
			// all in the file.
			var err error
			if hdr, err = src.read(0, min(pcHeaderSize, s.Size)); err == nil && s.Size > 0 {
				_, err = src.read(s.Size-1, 1)
			}
			if err != nil {
				return pclnSource{}, err
			}
		} else {
			data, err := s.Data()
			if err != nil {
				return pclnSource{}, fmt.Errorf("reading %s: %w", name, err)
			}
			src.r, src.size, hdr = bytes.NewReader(data), uint64(len(data)), data
		}
		if !f.isPcHeader(hdr) {
			return pclnSource{}, fmt.Errorf("%s: unsupported pclntab header % x", name, hdr[:min(8, len(hdr))])
		}
		return src, nil
	}
	if start, ok := f.SymbolAddr("runtime.pclntab"); ok {
		if end, ok := f.SymbolAddr("runtime.epclntab"); ok && end > start {
			data, err := f.readAt(start, end-start)
			if err == nil && f.isPcHeader(data) {
				return pclnSource{r: bytes.NewReader(data), size: uint64(len(data)), addr: start, name: "runtime.pclntab"}, nil
			}
		}
	}
	data, addr, err := f.scanPclntab()
	if err != nil {
		return pclnSource{}, err
	}
	return pclnSource{r: bytes.NewReader(data), size: uint64(len(data)), addr: addr, name: "pclntab"}, nil
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
	if err := checkPcHeaderFields(data, uint64(len(data))); err != nil {
		return err
	}
	le := binary.LittleEndian
	nfunc, functab := le.Uint64(data[8:]), le.Uint64(data[64:])
	return checkFunctab(data[functab:functab+(2*nfunc+1)*4], nfunc, uint64(len(data))-functab)
}

// checkPcHeaderFields is the part of checkPcHeader that reads the header
// (data, the first bytes) of a pclntab of size bytes.
func checkPcHeaderFields(data []byte, size uint64) error {
	if size < pcHeaderSize || uint64(len(data)) < pcHeaderSize {
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
	return nil
}

// checkFunctab is the part of checkPcHeader that reads the function table
// ft of nfunc functions, followed by room bytes in the pclntab (its own
// included).
func checkFunctab(ft []byte, nfunc, room uint64) error {
	le := binary.LittleEndian
	var prev uint32
	for i := range nfunc + 1 {
		entry := le.Uint32(ft[8*i:])
		if i > 0 && entry < prev {
			return fmt.Errorf("function %d starts at %#x, before function %d (%#x)", i, entry, i-1, prev)
		}
		prev = entry
		if i == nfunc {
			break // the last entry is the end of the text, with no descriptor
		}
		if fo := uint64(le.Uint32(ft[8*i+4:])); fo+8 > room {
			return fmt.Errorf("descriptor of function %d at %#x outside the function table", i, fo)
		}
	}
	return nil
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
	if addr, ok := f.SymbolAddr("runtime.text"); ok {
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
