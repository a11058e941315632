package binary

import (
	"encoding/binary"
	"fmt"
	"strings"
	"sync"
)

// Itabs, type descriptors and their names without a symbol table.
//
// The Go linker (Go 1.19 to 1.27 checked, ELF) writes the itab list that
// runtime.moduledata.itablinks holds into its own section, .itablink: one
// pointer per itab of the program. Each itab starts with its interface
// type and its concrete type (*interfacetype, *_type). Type descriptors
// live from runtime.types, which the linker puts at the start of .rodata;
// a type's name (_type.str) and its package path (uncommontype.pkgpath)
// are name offsets from there. So an itab's "concrete,interface" name as
// the symbol table spells it (go:itab.*net/http.response,net/http.ResponseWriter)
// is rebuilt from the binary's data alone.

// Layout of runtime._type / internal/abi.Type on 64-bit (Go 1.19-1.27).
const (
	typeTflagOff = 20
	typeKindOff  = 23
	typeStrOff   = 40
	typeSize     = 48
	ptrElemOff   = typeSize // ptrtype.elem
	itabTypeOff  = 8        // itab._type, after itab.inter

	tflagUncommon  = 1 << 0
	tflagExtraStar = 1 << 1
	tflagNamed     = 1 << 2
	kindMask       = 0x1f
	kindInterface  = 20
	kindPtr        = 22
	kindStruct     = 25
)

// uncommonOff is where the uncommontype follows the kind's own type
// struct, for the kinds whose layout did not change in Go 1.19-1.27.
var uncommonOff = map[uint8]uint64{
	1: typeSize, 2: typeSize, 3: typeSize, 4: typeSize, 5: typeSize, 6: typeSize, // bool, ints
	7: typeSize, 8: typeSize, 9: typeSize, 10: typeSize, 11: typeSize, 12: typeSize,
	13: typeSize, 14: typeSize, 15: typeSize, 16: typeSize, // floats, complexes
	24: typeSize, 26: typeSize, // string, unsafe.Pointer
	17:            typeSize + 24,                                          // array: elem, slice, len
	18:            typeSize + 16,                                          // chan: elem, dir
	19:            typeSize + 8,                                           // func: in/out counts
	kindInterface: typeSize + 32, kindPtr: typeSize + 8, 23: typeSize + 8, // slice
	kindStruct: typeSize + 32,
}

// typeInfo holds what was read of the program's types.
type typeInfo struct {
	types  uint64            // runtime.types (link-time address)
	itabs  map[string]uint64 // "concrete,iface" -> itab address
	byAddr map[uint64]string // itab address -> concrete type name
	relocs map[uint64]uint64 // a PIE's relative relocations
	mu     sync.Mutex        // guards names
	names  map[uint64]string // type address -> name (cache)
	err    error
}

type typeState struct {
	once sync.Once
	info typeInfo
}

// typeStates holds, per File, the lazily read type information (kept
// out of File so that binary.go stays as it is).
var typeStates sync.Map // weak.Pointer[File] -> *typeState (fileState)

func (f *File) typeInfo() *typeInfo {
	st := fileState[typeState](&typeStates, f)
	st.once.Do(func() { f.readTypeInfo(&st.info) })
	return &st.info
}

func (f *File) readTypeInfo(ti *typeInfo) {
	*ti = typeInfo{itabs: map[string]uint64{}, byAddr: map[uint64]string{}, names: map[uint64]string{}}
	if f.PIE() {
		ti.relocs = f.relativeRelocs()
	}
	relocs := ti.relocs
	md, hasMD := f.moduledata(relocs)
	ti.types = f.typesBase(md, hasMD, relocs)
	if a, ok := f.SymbolAddr("runtime.types"); ok {
		ti.types = a
	}
	if ti.types == 0 {
		ti.err = fmt.Errorf("%s: type descriptors not found (no runtime.moduledata, no type section)", f.path)
		return
	}
	add := func(tab uint64) uint64 { // returns the itab's interface type
		inter, err1 := f.readPtr(tab, relocs)
		typ, err2 := f.readPtr(tab+itabTypeOff, relocs)
		if err1 != nil || err2 != nil {
			return 0
		}
		in, tn := f.typeName(ti, inter, relocs, 0), f.typeName(ti, typ, relocs, 0)
		if in == "" || tn == "" {
			return 0
		}
		ti.itabs[tn+","+in] = tab
		ti.byAddr[tab] = tn
		return inter
	}
	links := f.elf.Section(".itablink")
	if links == nil {
		links = f.elf.Section(".data.rel.ro.itablink")
	}
	if links == nil && hasMD {
		// The external linker merges .itablink into .data.rel.ro: take
		// moduledata.itablinks.
		if list, n, ok := f.itablinks(md, relocs); ok {
			for i := uint64(0); i < n; i++ {
				if tab, err := f.readPtr(list+8*i, relocs); err == nil && tab != 0 {
					add(tab)
				}
			}
			return
		}
	}
	if links == nil {
		// Go 1.27: the itabs are one block in the type data,
		// moduledata.itaboffset and itabsize after types.
		if !hasMD {
			ti.err = fmt.Errorf("%s: no itab list (.itablink) and no runtime.moduledata", f.path)
			return
		}
		off, err1 := f.readPtr(md+8*mdItabOffWord, relocs)
		size, err2 := f.readPtr(md+8*(mdItabOffWord+1), relocs)
		etypes, err3 := f.readPtr(md+8*(mdTypesWord+2), relocs)
		if err1 != nil || err2 != nil || err3 != nil || ti.types+off+size > etypes || size == 0 {
			ti.err = fmt.Errorf("%s: no itab list (.itablink) and no itab block in runtime.moduledata", f.path)
			return
		}
		for p := ti.types + off; p < ti.types+off+size; {
			inter := add(p)
			if inter == 0 {
				break
			}
			fun0, err1 := f.readPtr(p+itabFunOff, relocs)
			n, err2 := f.readPtr(inter+ifaceMethodsLenOff, relocs)
			if err1 != nil || err2 != nil || n > 1<<16 {
				break
			}
			p += itabFunOff + 8
			if fun0 != 0 && n > 1 {
				p += 8 * (n - 1)
			}
		}
		return
	}
	for a := links.Addr; a+8 <= links.Addr+links.Size; a += 8 {
		if tab, err := f.readPtr(a, relocs); err == nil && tab != 0 {
			add(tab)
		}
	}
}

// Words of runtime.moduledata (Go 1.20-1.27; Go 1.19 lacks covctrs and
// ecovctrs, two words earlier).
const (
	mdTypesWord    = 37 // types; then etypes (Go 1.20-1.26) or typedesclen, etypes (1.27)
	mdTypesWord119 = 35
	mdItabOffWord  = 40 // Go 1.27: itaboffset, itabsize
)

// Layout of itabs and interface types (Go 1.19-1.27, 64-bit).
const (
	itabFunOff         = 24            // itab.fun, after inter, _type, hash
	ifaceMethodsLenOff = typeSize + 16 // interfacetype.methods' length, after pkgpath, methods' pointer
)

// itablinks finds moduledata.itablinks (Go 1.19-1.26; its word index
// differs between versions): the first slice after types whose length
// equals its capacity and whose first entries are itabs (their first word
// is an interface type).
func (f *File) itablinks(md uint64, relocs map[uint64]uint64) (uint64, uint64, bool) {
	for w := uint64(mdTypesWord119 + 2); w < 72; w++ {
		ptr, err1 := f.readPtr(md+8*w, relocs)
		n, err2 := f.readPtr(md+8*(w+1), relocs)
		c, err3 := f.readPtr(md+8*(w+2), relocs)
		if err1 != nil || err2 != nil || err3 != nil || n == 0 || n != c || n > 1<<20 || ptr == 0 {
			continue
		}
		ok := true
		for i := uint64(0); i < min(n, 8) && ok; i++ {
			tab, err := f.readPtr(ptr+8*i, relocs)
			if err != nil {
				ok = false
				break
			}
			inter, err := f.readPtr(tab, relocs)
			if err != nil {
				ok = false
				break
			}
			k, err := f.readAt(inter+typeKindOff, 1)
			ok = err == nil && k[0]&kindMask == kindInterface
		}
		if ok {
			return ptr, n, true
		}
	}
	return 0, 0, false
}

// moduledata returns the link-time address of runtime.firstmoduledata:
// the .go.module section (Go 1.26+), else the moduledata whose first
// word points to the pclntab (found by value in the writable segments).
func (f *File) moduledata(relocs map[uint64]uint64) (uint64, bool) {
	if s := f.elf.Section(".go.module"); s != nil && s.Size >= 8*(mdItabOffWord+2) {
		return s.Addr, true
	}
	if a, ok := f.SymbolAddr("runtime.firstmoduledata"); ok {
		return a, true
	}
	src, err := f.findPclnSource()
	if err != nil || src.size < 64 {
		return 0, false
	}
	hdr, err := src.read(0, min(pcHeaderSize, src.size))
	if err != nil {
		return 0, false
	}
	return f.findModuledata(src.addr, hdr, relocs)
}

// typesBase returns runtime.types: moduledata.types when it is the start
// of one of the sections the linker puts type descriptors in, else the
// start of the first of those sections that exists.
func (f *File) typesBase(md uint64, hasMD bool, relocs map[uint64]uint64) uint64 {
	names := []string{".go.type", ".data.rel.ro.go.type", ".data.rel.ro", ".rodata"}
	if hasMD {
		for _, w := range []uint64{mdTypesWord, mdTypesWord119} {
			v, err := f.readPtr(md+8*w, relocs)
			if err != nil {
				continue
			}
			for _, n := range names {
				if s := f.elf.Section(n); s != nil && s.Addr == v {
					return v
				}
			}
		}
	}
	for _, n := range names {
		if s := f.elf.Section(n); s != nil {
			return s.Addr
		}
	}
	return 0
}

// readName reads a runtime name (flags byte, varint length, bytes) at
// addr.
func (f *File) readName(addr uint64) (string, bool) {
	hdr, err := f.readAt(addr, 4)
	if err != nil {
		hdr, err = f.readAt(addr, 2)
		if err != nil {
			return "", false
		}
	}
	n, w := binary.Uvarint(hdr[1:])
	if w <= 0 || n > 4096 {
		return "", false
	}
	b, err := f.readAt(addr+1+uint64(w), n)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// typeName returns the full name of the type descriptor at addr as the
// symbol table writes it ("*net/http.response", "context.Context",
// "error"), or "" when it cannot be read.
func (f *File) typeName(ti *typeInfo, addr uint64, relocs map[uint64]uint64, depth int) string {
	if n, ok := ti.names[addr]; ok {
		return n
	}
	if depth > 8 {
		return ""
	}
	hdr, err := f.readAt(addr, typeSize)
	if err != nil {
		return ""
	}
	tflag, kind := hdr[typeTflagOff], hdr[typeKindOff]&kindMask
	str, ok := f.readName(ti.types + uint64(int64(int32(binary.LittleEndian.Uint32(hdr[typeStrOff:])))))
	if !ok {
		return ""
	}
	if tflag&tflagExtraStar != 0 {
		str = strings.TrimPrefix(str, "*")
	}
	name := str
	switch {
	case tflag&tflagNamed != 0:
		if off, ok := uncommonOff[kind]; ok && tflag&tflagUncommon != 0 {
			if u, err := f.readAt(addr+off, 4); err == nil {
				if pkg, ok := f.readName(ti.types + uint64(binary.LittleEndian.Uint32(u))); ok && pkg != "" {
					if dot := strings.IndexByte(str, '.'); dot >= 0 {
						name = pkg + str[dot:]
					}
				}
			}
		}
	case kind == kindPtr:
		elem, err := f.readPtr(addr+ptrElemOff, relocs)
		if err == nil && elem != 0 {
			if en := f.typeName(ti, elem, relocs, depth+1); en != "" {
				name = "*" + en
			}
		}
	}
	ti.names[addr] = name
	return name
}

// Itab returns the link-time address of the itab of concrete type typ for
// interface iface, spelled as in the symbol table: Itab("*context.cancelCtx",
// "context.Context"). It reads the symbol table when there is one, else
// the itab list (.itablink) and the type descriptors it points to.
func (f *File) Itab(typ, iface string) (uint64, bool) {
	for _, p := range []string{"go:itab.", "go.itab."} {
		if a, ok := f.SymbolAddr(p + typ + "," + iface); ok {
			return a, true
		}
	}
	a, ok := f.typeInfo().itabs[typ+","+iface]
	return a, ok
}

// ItabType returns the concrete type name of the itab at link-time address
// addr, from the itab list ("" when it is not an itab of the list).
func (f *File) ItabType(addr uint64) string {
	return f.typeInfo().byAddr[addr]
}

// Itabs returns the number of itabs read from the itab list, and why none
// could be read.
func (f *File) Itabs() (int, error) {
	ti := f.typeInfo()
	return len(ti.itabs), ti.err
}

// TypeName returns the full name of the type descriptor at link-time
// address addr, or "" when it is not one.
func (f *File) TypeName(addr uint64) string {
	ti := f.typeInfo()
	if ti.err != nil {
		return ""
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return f.typeName(ti, addr, ti.relocs, 0)
}
