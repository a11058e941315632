package offsets

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"strings"
)

// ErrNoType reports a type name that is not in the DWARF data.
var ErrNoType = errors.New("type not found")

// Field names a field of a struct type of the target.
type Field struct {
	// Struct is the DWARF name of the struct type as Go writes it, such as
	// "net/http.Request", "runtime.g" or "internal/runtime/maps.Map".
	Struct string
	// Name is the field name; an embedded field is named by its type
	// (for example "Context" in "context.cancelCtx").
	Name string
}

// String returns the field as "net/http.Request.Method".
func (f Field) String() string { return f.Struct + "." + f.Name }

// Table maps fields to their byte offsets in their struct.
type Table map[Field]uint64

// Get returns the offset of f, or 0 when t does not hold it.
func (t Table) Get(f Field) uint64 { return t[f] }

// MissingError lists the fields that were not found.
type MissingError struct {
	Fields []Field
}

// Error names every missing field.
func (e *MissingError) Error() string {
	names := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		names[i] = f.String()
	}
	return "offsets not found: " + strings.Join(names, ", ")
}

// FromDWARF reads the offsets of fields in one pass over d, decoding only
// the struct types that are named. When some fields are absent it returns
// a *MissingError listing them, along with the offsets it did find.
func FromDWARF(d *dwarf.Data, fields []Field) (Table, error) {
	want := byStruct(fields)
	t := Table{}
	r := d.Reader()
	for len(want) > 0 { // stop once every struct named is read
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == 0 {
			continue // descend into the unit's types and functions
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		names := want[name]
		if e.Tag != dwarf.TagStructType || names == nil || !e.Children {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		if names[SizeName] {
			if n, ok := e.Val(dwarf.AttrByteSize).(int64); ok && n >= 0 {
				t[Field{name, SizeName}] = uint64(n)
			}
		}
		if err := readMembers(r, name, names, t); err != nil {
			return nil, err
		}
		delete(want, name) // the first definition wins
	}
	return t, missingOf(fields, t)
}

// byStruct groups the names of fields by struct.
func byStruct(fields []Field) map[string]map[string]bool {
	want := map[string]map[string]bool{}
	for _, f := range fields {
		if want[f.Struct] == nil {
			want[f.Struct] = map[string]bool{}
		}
		want[f.Struct][f.Name] = true
	}
	return want
}

// missingOf returns a *MissingError for the fields t lacks, or nil.
func missingOf(fields []Field, t Table) error {
	var missing []Field
	for _, f := range fields {
		if _, ok := t[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return &MissingError{Fields: missing}
	}
	return nil
}

// readMembers reads the children of a struct entry, recording the offsets
// of the members in names.
func readMembers(r *dwarf.Reader, structName string, names map[string]bool, t Table) error {
	for {
		e, err := r.Next()
		if err != nil {
			return fmt.Errorf("reading members of %s: %w", structName, err)
		}
		if e == nil || e.Tag == 0 {
			return nil
		}
		if e.Children {
			r.SkipChildren()
		}
		if e.Tag != dwarf.TagMember {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if !names[name] {
			continue
		}
		off, ok := memberOffset(e.Val(dwarf.AttrDataMemberLoc))
		if !ok {
			return fmt.Errorf("reading offset of %s.%s: unsupported location %v", structName, name, e.Val(dwarf.AttrDataMemberLoc))
		}
		t[Field{structName, name}] = off
	}
}

// memberOffset decodes DW_AT_data_member_location: a constant (what Go
// writes) or a DW_OP_plus_uconst expression.
func memberOffset(v any) (uint64, bool) {
	switch v := v.(type) {
	case int64:
		return uint64(v), v >= 0
	case []byte:
		const opPlusUconst = 0x23
		if len(v) < 2 || v[0] != opPlusUconst {
			return 0, false
		}
		var off uint64
		for i, b := range v[1:] {
			off |= uint64(b&0x7f) << (7 * i)
			if b&0x80 == 0 {
				return off, i+2 == len(v)
			}
		}
	}
	return 0, false
}

// Size returns the byte size of the type named typeName, such as
// "net/url.URL" or "runtime.g". It returns an error wrapping ErrNoType when
// d has no such type.
func Size(d *dwarf.Data, typeName string) (uint64, error) {
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return 0, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			return 0, fmt.Errorf("%s: %w", typeName, ErrNoType)
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == 0 {
			continue
		}
		if e.Children {
			r.SkipChildren()
		}
		if name, _ := e.Val(dwarf.AttrName).(string); name != typeName || !isType(e.Tag) {
			continue
		}
		if n, ok := e.Val(dwarf.AttrByteSize).(int64); ok && n >= 0 {
			return uint64(n), nil
		}
		typ, err := d.Type(e.Offset)
		if err != nil {
			return 0, fmt.Errorf("reading type %s: %w", typeName, err)
		}
		if n := typ.Size(); n >= 0 {
			return uint64(n), nil
		}
		return 0, fmt.Errorf("type %s has no size", typeName)
	}
}

// isType reports whether tag is the tag of a type entry.
func isType(tag dwarf.Tag) bool {
	switch tag {
	case dwarf.TagStructType, dwarf.TagBaseType, dwarf.TagTypedef, dwarf.TagPointerType,
		dwarf.TagArrayType, dwarf.TagUnionType, dwarf.TagSubroutineType, dwarf.TagEnumerationType:
		return true
	}
	return false
}

// DWARFIndex locates the named struct types of a binary's DWARF, found in
// one pass: looking up the fields of every probe then decodes only their
// structs, not every entry again per probe.
type DWARFIndex struct {
	d       *dwarf.Data
	structs map[string]dwarf.Offset // first definition with members
}

// NewDWARFIndex reads d once.
func NewDWARFIndex(d *dwarf.Data) (*DWARFIndex, error) {
	x := &DWARFIndex{d: d, structs: map[string]dwarf.Offset{}}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			return x, nil
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == 0 {
			continue
		}
		if e.Tag == dwarf.TagStructType && e.Children {
			if name, _ := e.Val(dwarf.AttrName).(string); name != "" {
				if _, ok := x.structs[name]; !ok {
					x.structs[name] = e.Offset
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
}

// Fields is FromDWARF through the index.
func (x *DWARFIndex) Fields(fields []Field) (Table, error) {
	want := byStruct(fields)
	t := Table{}
	r := x.d.Reader()
	for name, names := range want {
		off, ok := x.structs[name]
		if !ok {
			continue
		}
		r.Seek(off)
		e, err := r.Next()
		if err != nil || e == nil {
			return nil, fmt.Errorf("reading DWARF struct %s: %v", name, err)
		}
		if names[SizeName] {
			if n, ok := e.Val(dwarf.AttrByteSize).(int64); ok && n >= 0 {
				t[Field{name, SizeName}] = uint64(n)
			}
		}
		if err := readMembers(r, name, names, t); err != nil {
			return nil, err
		}
	}
	return t, missingOf(fields, t)
}
