package offsets

import (
	"debug/dwarf"
	_ "embed" // the versioned table
	"errors"
	"fmt"
	"strings"
	"sync"
)

// tableText is the versioned table, written by internal/tools/offsetgen
// (make offsets).
//
//go:embed table.txt
var tableText []byte

var builtin = sync.OnceValues(func() (*VersionTable, error) { return Decode(tableText) })

// Builtin returns the embedded versioned table.
func Builtin() (*VersionTable, error) { return builtin() }

// BuiltinSize is the size in bytes of the embedded table.
func BuiltinSize() int { return len(tableText) }

// PackageOf returns the import path of the package that declares the
// struct named s ("net/http" for "net/http.Request").
func PackageOf(s string) string {
	if i := strings.IndexByte(s, '['); i >= 0 {
		s = s[:i] // a generic type's arguments
	}
	slash := strings.LastIndexByte(s, '/')
	if dot := strings.IndexByte(s[slash+1:], '.'); dot >= 0 {
		return s[:slash+1+dot]
	}
	return s
}

// ModuleOf returns the module among modules (path -> version) that holds
// the package declaring struct s: the longest path that is the package's
// or a parent of it; Std for a standard-library package (no dot in its
// first element). It returns false when neither.
func ModuleOf(s string, modules map[string]string) (string, bool) {
	pkg := PackageOf(s)
	best := ""
	for m := range modules {
		if (pkg == m || strings.HasPrefix(pkg, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best != "" {
		return best, true
	}
	first, _, _ := strings.Cut(pkg, "/")
	if !strings.Contains(first, ".") {
		return Std, true
	}
	return "", false
}

// NotLinked is the Reason of a field whose module the binary lacks.
const NotLinked = "its module is not in the binary"

// NotInVersion is the Reason of a field that the matching versions do
// not have (the table knows the version, or DWARF is the binary's own).
const NotInVersion = "not in this version"

// Target is what Resolve needs to know of a binary.
type Target struct {
	DWARF *dwarf.Data // nil when the binary has none
	// Index, when set, is DWARF's index (NewDWARFIndex): each Resolve
	// then decodes only the structs it needs.
	Index     *DWARFIndex
	Modules   map[string]string // module path -> version (build info)
	GoVersion string            // "go1.26.8"
	Arch      string            // "amd64", "arm64"
	Table     *VersionTable     // nil: Builtin
}

// Resolve finds the offsets of fields for t: from its DWARF when it has
// some (what the DWARF lacks is missing: the binary's own layout is the
// truth); else from the versioned table for the exact version of each
// field's module (the Go version for the standard library) and arch;
// else, for a version between two known ones whose runs agree, the
// offset they share (Inferred); else the field is missing. It returns
// every offset found, the origin of each field, and a *MissingError for
// the fields found nowhere.
func Resolve(t Target, fields []Field) (Table, []Origin, error) {
	out := Table{}
	origins := make([]Origin, 0, len(fields))
	var missing []Field
	if t.DWARF != nil {
		var found Table
		var err error
		if t.Index != nil {
			found, err = t.Index.Fields(fields)
		} else {
			found, err = FromDWARF(t.DWARF, fields)
		}
		var miss *MissingError
		if err != nil && !errors.As(err, &miss) {
			return nil, nil, err
		}
		for _, f := range fields {
			o := Origin{Field: f, Source: DWARF}
			if off, ok := found[f]; ok {
				out[f] = off
			} else {
				o.Source, o.Reason = Missing, "not in the binary's DWARF"
				missing = append(missing, f)
			}
			o.Module, _ = ModuleOf(f.Struct, t.Modules)
			origins = append(origins, o)
		}
	} else {
		tab := t.Table
		if tab == nil {
			var err error
			if tab, err = Builtin(); err != nil {
				return nil, nil, fmt.Errorf("reading the embedded offsets table: %w", err)
			}
		}
		for _, f := range fields {
			mod, ok := ModuleOf(f.Struct, t.Modules)
			if !ok {
				origins = append(origins, Origin{Field: f, Reason: NotLinked})
				missing = append(missing, f)
				continue
			}
			version := t.GoVersion
			if mod != Std {
				version = t.Modules[mod]
			}
			off, o := tab.Lookup(f, mod, version, t.Arch)
			if o.Source == Missing {
				missing = append(missing, f)
			} else {
				out[f] = off
			}
			origins = append(origins, o)
		}
	}
	if len(missing) > 0 {
		return out, origins, &MissingError{Fields: missing}
	}
	return out, origins, nil
}
