package probe

import "testing"

// TestSharedArrays: the Go sizes of the shared headers' arrays match C.
func TestSharedArrays(t *testing.T) {
	spec, err := sharedSpec()
	if err != nil {
		t.Fatal(err)
	}
	if v := spec.Variables["ctx_span_types"]; v == nil || v.Size() != 8*ctxSpanSlots {
		t.Errorf("ctx_span_types %v, want %d u64 (CTX_SPAN_TYPES)", v, ctxSpanSlots)
	}
}
