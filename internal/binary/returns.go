package binary

import (
	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// returnOffsets disassembles code instruction by instruction and returns
// the offsets in code of its return instructions. Bytes that do not decode
// are skipped (one on amd64, one instruction word on arm64).
func returnOffsets(arch string, code []byte) []uint64 {
	var out []uint64
	switch arch {
	case "amd64":
		for i := 0; i < len(code); {
			inst, err := x86asm.Decode(code[i:], 64)
			if err != nil || inst.Len == 0 {
				i++
				continue
			}
			if inst.Op == x86asm.RET {
				out = append(out, uint64(i))
			}
			i += inst.Len
		}
	case "arm64":
		for i := 0; i+4 <= len(code); i += 4 {
			inst, err := arm64asm.Decode(code[i : i+4])
			if err == nil && inst.Op == arm64asm.RET {
				out = append(out, uint64(i))
			}
		}
	}
	return out
}
