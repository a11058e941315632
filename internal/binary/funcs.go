package binary

import (
	"debug/elf"
	"fmt"
)

// Func is a function of the executable, located for uprobes.
type Func struct {
	// Name is the symbol name as Go spells it, such as
	// "net/http.serverHandler.ServeHTTP" or "database/sql.(*DB).queryDC".
	Name string
	// Addr is the virtual address of the entry.
	Addr uint64
	// Offset is the file offset of the entry, where a uprobe attaches.
	Offset uint64
	// Size is the length of the function's code in bytes: the symbol size,
	// or, from the pclntab, up to the next function (alignment padding
	// included).
	Size uint64
	// Returns holds the file offset of every return instruction of the
	// function, in increasing order.
	Returns []uint64
}

// Func locates the function name: through the symbol table when there is
// one, else through the pclntab (which stripped Go executables keep). It
// returns an error wrapping ErrNoFunc when the function is in neither.
func (f *File) Func(name string) (Func, error) {
	addr, size, err := f.lookup(name)
	if err != nil {
		return Func{}, err
	}
	off, err := f.fileOffset(addr)
	if err != nil {
		return Func{}, fmt.Errorf("locating %s: %w", name, err)
	}
	code := make([]byte, size)
	if _, err := f.osf.ReadAt(code, int64(off)); err != nil {
		return Func{}, fmt.Errorf("reading code of %s: %w", name, err)
	}
	rets := returnOffsets(f.arch, code)
	for i := range rets {
		rets[i] += off
	}
	return Func{Name: name, Addr: addr, Offset: off, Size: size, Returns: rets}, nil
}

// lookup returns the entry address and size of a function.
func (f *File) lookup(name string) (addr, size uint64, err error) {
	if s, ok := f.symbols()[name]; ok && elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Size > 0 {
		return s.Value, s.Size, nil
	}
	t, err := f.pclntab()
	if err != nil {
		if f.HasSymtab() {
			return 0, 0, fmt.Errorf("%s: %w", name, ErrNoFunc)
		}
		return 0, 0, fmt.Errorf("looking up %s: %w", name, err)
	}
	fn := t.lookup(name)
	if fn == nil || fn.End <= fn.Entry {
		return 0, 0, fmt.Errorf("%s: %w", name, ErrNoFunc)
	}
	return fn.Entry, fn.End - fn.Entry, nil
}
