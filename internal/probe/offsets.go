package probe

import (
	"fmt"
	"strings"

	"github.com/sonde-go/auto/internal/offsets"
)

// CommonFields are the fields of the shared C headers, looked up for every
// probe (internal/tools/offsetgen puts them in the versioned table).
func CommonFields() []offsets.Field { return append([]offsets.Field{}, commonFields...) }

// Offsets resolves fields for the target: its DWARF, else the embedded
// versioned table (offsets.Resolve). Offsets found in neither are left
// out; the origins say where each came from. Inferred offsets are logged.
func (t *Target) Offsets(fields []offsets.Field) (offsets.Table, []offsets.Origin, error) {
	if t.DWARF != nil && t.dwarfOf != t.DWARF {
		t.dwarfIndex, t.dwarfOf = nil, t.DWARF
		if x, err := offsets.NewDWARFIndex(t.DWARF); err == nil {
			t.dwarfIndex = x
		}
	}
	var index *offsets.DWARFIndex
	if t.DWARF != nil {
		index = t.dwarfIndex
	}
	found, origins, err := offsets.Resolve(offsets.Target{
		DWARF:     t.DWARF,
		Index:     index,
		Modules:   t.Bin.Modules(),
		GoVersion: t.Bin.GoVersion(),
		Arch:      t.Bin.Arch(),
		Table:     t.OffsetsTable,
	}, fields)
	if found == nil {
		return nil, nil, fmt.Errorf("reading struct offsets: %w", err)
	}
	for _, o := range origins {
		if o.Source == offsets.Inferred {
			t.Logger.V(1).Info("struct offset inferred from the versioned table", "field", o.Field.String(), "module", o.Module, "version", o.Version, "why", o.Reason)
		}
	}
	return found, origins, nil
}

// missingNote says, for a message about missing fields, why the binary's
// own layout was not used and which library version the table lacks:
// "no DWARF in the binary (...); the offsets table has no net/http.Request.Method
// for std go1.24 (...): ".
func (t *Target) missingNote(origins []offsets.Origin, missing []offsets.Field) string {
	if t.DWARF != nil {
		return ""
	}
	var why []string
	for _, f := range missing {
		for _, o := range origins {
			if o.Field == f && o.Source == offsets.Missing {
				why = append(why, fmt.Sprintf("%s for %s %s (%s)", f, o.Module, o.Version, o.Reason))
				break
			}
		}
	}
	note := t.NoDWARFReason()
	if len(why) > 0 {
		note += "; the versioned offsets table has no " + strings.Join(why, ", ")
	}
	return note + ": "
}
