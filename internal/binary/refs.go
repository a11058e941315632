package binary

import (
	"debug/elf"
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// Globals and type descriptors without a symbol table.
//
// A function found through the pclntab is disassembled and the addresses
// its code computes PC-relative are collected: RIP-relative operands on
// amd64, ADRP followed by ADD or LDR on the same register on arm64. A
// global variable is the one data address a function known to read it
// references; a type descriptor is a referenced address whose type name
// (TypeName) is the one wanted.

// Refs returns the link-time addresses that the code of function name
// computes PC-relative (operands of loads, stores and address
// computations), in code order, each once.
func (f *File) Refs(name string) ([]uint64, error) {
	fn, err := f.Func(name)
	if err != nil {
		return nil, err
	}
	code := make([]byte, fn.Size)
	if _, err := f.osf.ReadAt(code, int64(fn.Offset)); err != nil {
		return nil, fmt.Errorf("reading code of %s: %w", name, err)
	}
	var out []uint64
	seen := map[uint64]bool{}
	add := func(a uint64) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	switch f.arch {
	case "amd64":
		for i := 0; i < len(code); {
			inst, err := x86asm.Decode(code[i:], 64)
			if err != nil || inst.Len == 0 {
				i++
				continue
			}
			for _, a := range inst.Args {
				if m, ok := a.(x86asm.Mem); ok && m.Base == x86asm.RIP {
					add(uint64(int64(fn.Addr) + int64(i+inst.Len) + m.Disp))
				}
			}
			i += inst.Len
		}
	case "arm64":
		var page [32]uint64 // ADRP result per register, 0 when none
		for i := 0; i+4 <= len(code); i += 4 {
			insn := binary.LittleEndian.Uint32(code[i:])
			pc := fn.Addr + uint64(i)
			rd, rn := insn&31, (insn>>5)&31
			switch {
			case insn&0x9f000000 == 0x90000000: // ADRP
				imm := int64((insn>>5)&0x7ffff)<<2 | int64((insn>>29)&3)
				imm = imm << 43 >> 43 // sign-extend 21 bits
				page[rd] = uint64(int64(pc&^0xfff) + imm<<12)
				continue
			case insn&0xff800000 == 0x91000000 && page[rn] != 0: // ADD Xd, Xn, #imm{, lsl 12}
				imm := uint64((insn >> 10) & 0xfff)
				if insn&(1<<22) != 0 {
					imm <<= 12
				}
				add(page[rn] + imm)
			case insn&0x3fc00000 == 0x39400000 && page[rn] != 0: // LDR/LDRB/LDRH (unsigned offset)
				size := insn >> 30
				add(page[rn] + uint64((insn>>10)&0xfff)<<size)
			case insn&0x3fc00000 == 0x39000000 && page[rn] != 0: // STR (unsigned offset)
				size := insn >> 30
				add(page[rn] + uint64((insn>>10)&0xfff)<<size)
			}
			if rd < 31 {
				page[rd] = 0 // rd was written by something else
			}
		}
	}
	return out, nil
}

// dataSections hold Go's global variables.
var dataSections = []string{".data", ".noptrdata", ".bss", ".noptrbss"}

// inData reports whether addr lies in a section of global variables.
func (f *File) inData(addr uint64) bool {
	for _, n := range dataSections {
		if s := f.elf.Section(n); s != nil && addr >= s.Addr && addr < s.Addr+s.Size {
			return true
		}
	}
	return false
}

// GlobalRef returns the link-time address of the one global variable
// that function fn references (for example the flag pointer that
// go.opentelemetry.io/otel/internal/global.(*tracer).Start passes on). It
// fails when fn references none or several.
func (f *File) GlobalRef(fn string) (uint64, error) {
	refs, err := f.Refs(fn)
	if err != nil {
		return 0, err
	}
	var vars []uint64
	for _, a := range refs {
		if f.inData(a) {
			vars = append(vars, a)
		}
	}
	if len(vars) != 1 {
		return 0, fmt.Errorf("%s references %d global variables, want exactly one", fn, len(vars))
	}
	return vars[0], nil
}

// TypeRef returns the link-time address of the type descriptor named typ
// ("google.golang.org/grpc/metadata.mdIncomingKey") that function fn
// references, for example as the key type of a context.WithValue call.
func (f *File) TypeRef(fn, typ string) (uint64, error) {
	refs, err := f.Refs(fn)
	if err != nil {
		return 0, err
	}
	for _, a := range refs {
		if f.inData(a) || f.elf.Section(".text") != nil && a >= f.elf.Section(".text").Addr && a < f.elf.Section(".text").Addr+f.elf.Section(".text").Size {
			continue
		}
		if s := f.sectionOf(a); s == nil || s.Type == elf.SHT_NOBITS {
			continue
		}
		if f.TypeName(a) == typ {
			return a, nil
		}
	}
	return 0, fmt.Errorf("%s references no type descriptor %s", fn, typ)
}

// sectionOf returns the allocated section holding addr.
func (f *File) sectionOf(addr uint64) *elf.Section {
	for _, s := range f.elf.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && addr >= s.Addr && addr < s.Addr+s.Size {
			return s
		}
	}
	return nil
}

// GlobalArg returns the link-time address of the global variable whose
// value function fn loads last before its first call of function callee:
// a global passed as an argument, such as autoInstEnabled in
// `return t.newSpan(ctx, autoInstEnabled, name, opts)`
// (go.opentelemetry.io/otel/internal/global.(*tracer).Start). Other
// globals the function reads (type-assertion caches, sync/atomic's
// sentinel) come before other calls or are not loads.
func (f *File) GlobalArg(fn, callee string) (uint64, error) {
	fnc, err := f.Func(fn)
	if err != nil {
		return 0, err
	}
	target, err := f.Func(callee)
	if err != nil {
		return 0, err
	}
	code := make([]byte, fnc.Size)
	if _, err := f.osf.ReadAt(code, int64(fnc.Offset)); err != nil {
		return 0, fmt.Errorf("reading code of %s: %w", fn, err)
	}
	var last uint64
	switch f.arch {
	case "amd64":
		for i := 0; i < len(code); {
			inst, err := x86asm.Decode(code[i:], 64)
			if err != nil || inst.Len == 0 {
				i++
				continue
			}
			next := int64(fnc.Addr) + int64(i+inst.Len)
			switch {
			case inst.Op == x86asm.CALL:
				if rel, ok := inst.Args[0].(x86asm.Rel); ok && uint64(next+int64(rel)) == target.Addr {
					if last == 0 {
						return 0, fmt.Errorf("%s loads no global before calling %s", fn, callee)
					}
					return last, nil
				}
			case inst.Op == x86asm.MOV:
				if m, ok := inst.Args[1].(x86asm.Mem); ok && m.Base == x86asm.RIP {
					if a := uint64(next + m.Disp); f.inData(a) {
						last = a
					}
				}
			}
			i += inst.Len
		}
	case "arm64":
		var page [32]uint64
		for i := 0; i+4 <= len(code); i += 4 {
			insn := binary.LittleEndian.Uint32(code[i:])
			pc := fnc.Addr + uint64(i)
			rd, rn := insn&31, (insn>>5)&31
			switch {
			case insn&0x9f000000 == 0x90000000: // ADRP
				imm := int64((insn>>5)&0x7ffff)<<2 | int64((insn>>29)&3)
				imm = imm << 43 >> 43
				page[rd] = uint64(int64(pc&^0xfff) + imm<<12)
				continue
			case insn&0xffc00000 == 0xf9400000 && page[rn] != 0: // LDR Xt, [Xn, #imm]
				if a := page[rn] + uint64((insn>>10)&0xfff)<<3; f.inData(a) {
					last = a
				}
			case insn&0xfc000000 == 0x94000000: // BL
				off := int64(insn&0x3ffffff) << 38 >> 36
				if uint64(int64(pc)+off) == target.Addr {
					if last == 0 {
						return 0, fmt.Errorf("%s loads no global before calling %s", fn, callee)
					}
					return last, nil
				}
			}
			if rd < 31 {
				page[rd] = 0
			}
		}
	}
	return 0, fmt.Errorf("%s does not call %s", fn, callee)
}
