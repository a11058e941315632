package binary

import (
	"encoding/binary"
	"slices"
	"testing"
)

func TestReturnOffsetsAMD64(t *testing.T) {
	code := []byte{
		0x48, 0x89, 0xc3, // MOVQ AX, BX: holds 0xc3 but is no RET
		0xc3,       // RET at 3
		0x0f, 0x0b, // UD2
		0xc3,       // RET at 6
		0xcc, 0xcc, // INT3 padding
		0x0f, // truncated instruction at the end: skipped
	}
	if got, want := returnOffsets("amd64", code), []uint64{3, 6}; !slices.Equal(got, want) {
		t.Errorf("returnOffsets = %v, want %v", got, want)
	}
}

func TestReturnOffsetsARM64(t *testing.T) {
	words := []uint32{
		0xf9400000, // LDR X0, [X0]
		0xd65f03c0, // RET at 4
		0x00000000, // does not decode: skipped
		0xd65f03c0, // RET at 12
	}
	code := make([]byte, 0, 4*len(words)+2)
	for _, w := range words {
		code = binary.LittleEndian.AppendUint32(code, w)
	}
	code = append(code, 0xc0, 0x03) // partial word past the end
	if got, want := returnOffsets("arm64", code), []uint64{4, 12}; !slices.Equal(got, want) {
		t.Errorf("returnOffsets = %v, want %v", got, want)
	}
}
