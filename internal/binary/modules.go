package binary

import (
	"maps"
	"runtime/debug"
)

// modulesOf maps module paths to versions: the main module and every
// dependency. A replaced dependency gets the replacement's version; a
// replacement by a local directory has none, so the required version is
// kept.
func modulesOf(bi *debug.BuildInfo) map[string]string {
	m := make(map[string]string, len(bi.Deps)+1)
	if bi.Main.Path != "" {
		m[bi.Main.Path] = bi.Main.Version
	}
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil && d.Replace.Version != "" {
			v = d.Replace.Version
		}
		m[d.Path] = v
	}
	return m
}

// Modules returns the executable's modules (main module and dependencies)
// by path, with their versions. The map is a copy. It is empty for a program
// built without module information.
func (f *File) Modules() map[string]string {
	return maps.Clone(f.modules)
}

// Module returns the version of the module at path and whether the
// executable contains it. The path "std" gives the Go version.
func (f *File) Module(path string) (string, bool) {
	if path == "std" {
		return f.goVer, f.goVer != ""
	}
	v, ok := f.modules[path]
	return v, ok
}
