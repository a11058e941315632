package binary

import (
	"sync"
)

// ErrorVar is a global error variable made by errors.New that the Go
// compiler initialized statically (io.EOF, context.Canceled, ...): the
// variable in .data holds the itab of *errors.errorString for error and a
// pointer to the errorString, both link-time addresses.
type ErrorVar struct {
	Addr      uint64 // the variable
	Tab, Data uint64 // its value
}

var errorVarStates sync.Map // weak.Pointer[File] -> *errorVarState (fileState)

type errorVarState struct {
	once sync.Once
	vars map[string]ErrorVar
}

// ErrorVars returns the statically initialized errors.New variables of
// .data by message, without a symbol table: a message that two different
// values carry is left out (which one is which cannot be told). When
// several variables hold the same value, the first is given.
func (f *File) ErrorVars() map[string]ErrorVar {
	st := fileState[errorVarState](&errorVarStates, f)
	st.once.Do(func() { st.vars = f.readErrorVars() })
	return st.vars
}

func (f *File) readErrorVars() map[string]ErrorVar {
	out := map[string]ErrorVar{}
	tab, ok := f.Itab("*errors.errorString", "error")
	data := f.elf.Section(".data")
	if !ok || data == nil {
		return out
	}
	ti := f.typeInfo()
	relocs := ti.relocs
	ambiguous := map[string]bool{}
	for a := data.Addr; a+16 <= data.Addr+data.Size; a += 8 {
		w0, err := f.readPtr(a, relocs)
		if err != nil || w0 != tab {
			continue
		}
		es, err := f.readPtr(a+8, relocs)
		if err != nil || es == 0 {
			continue
		}
		p, err1 := f.readPtr(es, relocs)
		n, err2 := f.readPtr(es+8, nil)
		if err1 != nil || err2 != nil || n == 0 || n > 256 {
			continue
		}
		b, err := f.readAt(p, n)
		if err != nil {
			continue
		}
		msg := string(b)
		if prev, ok := out[msg]; ok {
			if prev.Data != es {
				ambiguous[msg] = true
			}
			continue
		}
		out[msg] = ErrorVar{Addr: a, Tab: w0, Data: es}
	}
	for m := range ambiguous {
		delete(out, m)
	}
	return out
}
