package main

import (
	"fmt"
	"strings"

	"github.com/sonde-go/auto/internal/offsets"
)

// offsetRows adds, under a probe, where its struct offsets came from: a
// count per source, then each inferred offset and each one missing for a
// reason other than the field not being in that version (a layout change,
// a version the table does not know), with the library version not
// covered.
func offsetRows(t *table, origins []offsets.Origin) {
	if len(origins) == 0 {
		return
	}
	counts := map[offsets.Source]int{}
	var detail []offsets.Origin
	for _, o := range origins {
		counts[o.Source]++
		switch {
		case o.Source == offsets.Inferred:
			detail = append(detail, o)
		case o.Source == offsets.Missing && o.Reason != offsets.NotInVersion && o.Reason != offsets.NotLinked && o.Reason != "not in the binary's DWARF":
			detail = append(detail, o)
		}
	}
	var parts []string
	for _, s := range []offsets.Source{offsets.DWARF, offsets.Exact, offsets.Inferred, offsets.Missing} {
		if counts[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[s], s))
		}
	}
	t.row("  offsets", strings.Join(parts, ", "))
	for _, o := range detail {
		t.row("    "+o.Field.String(), o.Source.String(), fmt.Sprintf("%s %s: %s", o.Module, o.Version, o.Reason))
	}
}
