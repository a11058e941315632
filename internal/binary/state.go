package binary

import (
	"runtime"
	"sync"
	"weak"
)

// fileState returns the state of type T that m keeps for f, making it on
// first use. m is keyed by a weak pointer to f, and the entry is deleted
// once f is collected: a File closed and dropped (one per attach) takes
// its state, and so its sections, with it.
func fileState[T any](m *sync.Map, f *File) *T {
	k := weak.Make(f)
	v, loaded := m.LoadOrStore(k, new(T))
	if !loaded {
		runtime.AddCleanup(f, func(k weak.Pointer[File]) { m.Delete(k) }, k)
	}
	return v.(*T)
}
