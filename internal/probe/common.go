package probe

import (
	"fmt"

	"github.com/sonde-go/auto/internal/offsets"
)

// Fields every probe's shared C headers may need (sonde/go.h, span.h,
// header.h). Offsets come from the target's DWARF.
var (
	fieldGoid       = offsets.Field{Struct: "runtime.g", Name: "goid"}
	fieldDirPtr     = offsets.Field{Struct: "internal/runtime/maps.Map", Name: "dirPtr"}
	fieldDirLen     = offsets.Field{Struct: "internal/runtime/maps.Map", Name: "dirLen"}
	fieldGroups     = offsets.Field{Struct: "internal/runtime/maps.table", Name: "groups"}
	fieldLengthMask = offsets.Field{Struct: "internal/runtime/maps.groupsReference", Name: "lengthMask"}
	fieldHmapB      = offsets.Field{Struct: "runtime.hmap", Name: "B"}
	fieldHmapBkts   = offsets.Field{Struct: "runtime.hmap", Name: "buckets"}
	fieldValueCtx   = offsets.Field{Struct: "context.valueCtx", Name: "val"}
)

// ctxSpanSlots is CTX_SPAN_TYPES of span.h (the contract test checks it
// against the shared spec).
const ctxSpanSlots = 4

// commonFields are looked up for every target; which ones must be present
// depends on the map implementation (see commonVars).
var commonFields = []offsets.Field{fieldGoid, fieldDirPtr, fieldDirLen, fieldGroups, fieldLengthMask, fieldHmapB, fieldHmapBkts, fieldValueCtx}

// ctxTypes are the standard context types whose parent Context is their
// first field (src/context/context.go, Go 1.19 to 1.27).
var ctxTypes = map[string]string{
	"itab_value_ctx":          "*context.valueCtx",
	"itab_cancel_ctx":         "*context.cancelCtx",
	"itab_timer_ctx":          "*context.timerCtx",
	"itab_without_cancel_ctx": "context.withoutCancelCtx",
	"itab_after_func_ctx":     "*context.afterFuncCtx",
}

// commonVars computes the variables of the shared headers; spanTypes are
// the context span types of all probes (ContextSpans).
func commonVars(t *Target, offs offsets.Table, spanTypes []SpanType) ([]Var, error) {
	if _, ok := offs[fieldGoid]; !ok {
		return nil, &offsets.MissingError{Fields: []offsets.Field{fieldGoid}}
	}
	vars := []Var{{"g_goid_off", offs.Get(fieldGoid)}}
	swiss := false
	if _, ok := offs[fieldDirPtr]; ok {
		swiss = true
		var missing []offsets.Field
		for _, f := range []offsets.Field{fieldDirLen, fieldGroups, fieldLengthMask} {
			if _, ok := offs[f]; !ok {
				missing = append(missing, f)
			}
		}
		if len(missing) > 0 {
			return nil, &offsets.MissingError{Fields: missing}
		}
		vars = append(vars,
			Var{"swiss_map_dir_ptr_off", offs.Get(fieldDirPtr)},
			Var{"swiss_map_dir_len_off", offs.Get(fieldDirLen)},
			Var{"swiss_table_groups_off", offs.Get(fieldGroups)},
			Var{"swiss_groups_mask_off", offs.Get(fieldLengthMask)},
		)
	} else if _, ok := offs[fieldHmapBkts]; ok {
		vars = append(vars,
			Var{"hmap_b_off", offs.Get(fieldHmapB)},
			Var{"hmap_buckets_off", offs.Get(fieldHmapBkts)},
		)
	} else {
		return nil, fmt.Errorf("no map layout found: %w", &offsets.MissingError{Fields: []offsets.Field{fieldDirPtr, fieldHmapBkts}})
	}
	vars = append(vars, Var{"go_swiss_maps", swiss})
	for name, typ := range ctxTypes {
		vars = append(vars, Var{name, t.Itab(typ, "context.Context")})
	}
	var tabs [ctxSpanSlots]uint64
	n := 0
	for _, st := range spanTypes {
		// A context value is an `any`: its first word is the type
		// descriptor, which the (type, iface) itab points to.
		if tab := t.ItabTypeAddr(st.Type, st.Iface); tab != 0 && n < ctxSpanSlots {
			tabs[n] = tab
			n++
		}
	}
	vars = append(vars, Var{"ctx_span_types", tabs})
	sampler := DefaultSampler
	if t.Sampler != nil {
		sampler = *t.Sampler
	}
	vars = append(vars, sampler.vars()...)
	if off, ok := offs[fieldValueCtx]; ok {
		vars = append(vars, Var{"value_ctx_val_off", off})
	}
	return vars, nil
}
