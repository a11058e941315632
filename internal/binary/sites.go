package binary

import (
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"golang.org/x/arch/arm64/arm64asm"
	"golang.org/x/arch/x86/x86asm"
)

// SiteKind names the instruction a probe site is on.
type SiteKind uint8

// Site kinds. See the package documentation for which of them the kernel
// runs without a single step out of line.
const (
	// SiteFirstByte is the function's first instruction: on Go code the
	// stack check, single-stepped, run again after morestack.
	SiteFirstByte SiteKind = iota
	// SitePush is amd64 PUSHQ BP, right after the stack check: emulated,
	// once per call.
	SitePush
	// SiteStackBranch is the stack check's conditional branch (arm64 B.LS,
	// amd64 JBE where there is no push): emulated, run again after
	// morestack.
	SiteStackBranch
	// SiteRet is a return instruction of the function: single-stepped on
	// amd64, simulated on arm64.
	SiteRet
	// SiteCall is in a caller: the instruction at a direct call's return
	// address, or an emulated one shortly after it.
	SiteCall
	// SiteStore is inside the function: the first emulated instruction
	// after a store that marks the point the probe is about.
	SiteStore
)

var siteKindNames = [...]string{"first byte", "push", "stack-check branch", "ret", "call site", "after store"}

func (k SiteKind) String() string {
	if int(k) < len(siteKindNames) {
		return siteKindNames[k]
	}
	return fmt.Sprintf("SiteKind(%d)", k)
}

// Site is one address a uprobe attaches at.
type Site struct {
	Addr   uint64 // virtual address
	Offset uint64 // file offset, where the uprobe attaches
	Kind   SiteKind
	// Emulated reports that the kernel runs the instruction itself (no
	// single step out of line: the cheap kind of probe hit).
	Emulated bool
	// Again reports an entry site that runs a second time for one call
	// when the stack grows (the morestack path re-runs the stack check).
	Again bool
	// Caller names the function a SiteCall is in.
	Caller string
	// Spilled are the result registers that the caller of a SiteCall
	// has stored to its frame and then overwritten before the site: the
	// program finds each at SP+SpillOff (Slot), where the attach cookie
	// tells it (ReturnOptions.Spill).
	Spilled  RegSet
	SpillOff [16]int32
}

// Placement is where one program of a hook attaches, and why there.
type Placement struct {
	Sites []Site
	Kind  SiteKind // the kind of the sites
	Why   string
}

// Emulated counts the sites of p that the kernel emulates.
func (p Placement) Emulated() int {
	n := 0
	for _, s := range p.Sites {
		if s.Emulated {
			n++
		}
	}
	return n
}

// Again reports whether a site of p can run twice for one call.
func (p Placement) Again() bool {
	return slices.ContainsFunc(p.Sites, func(s Site) bool { return s.Again })
}

// Emulation is what the running kernel's uprobe code emulates beyond what
// every supported kernel does.
type Emulation struct {
	// NOPL: multi-byte x86 nops (0f 1f /0, the x86_nops forms) are
	// emulated (Linux 6.16 and later); before, only 0x90 is.
	NOPL bool
}

// ReturnOptions choose how return sites are placed.
type ReturnOptions struct {
	Emulation Emulation
	// ReadsSP is set when the return program reads the stack pointer
	// (stack-assigned results): SP at a caller's site is 8 more than at
	// ret, so such a program keeps the ret sites.
	ReadsSP bool
	// Classic keeps today's placement: ret instructions.
	Classic bool
	// MethodTable lets the returns move to the call sites although a
	// method table entry names the function: the probe knows that no
	// value of the receiver type reaches an interface but through
	// reflection (see probe.Hook.MethodTable).
	MethodTable bool
	// GOnly is set when the return program reads no register but g (R14,
	// which Go code never writes): the walk from a call site may then
	// pass any instruction but a branch, including calls through a
	// register, whose callees return to the next instruction.
	GOnly bool
	// RegsKnown says that Reads are all the general registers the
	// return program reads from its context (but SP, see ReadsSP; g is
	// always taken as read): the walk from a call site may pass
	// instructions that write only other registers. Without it, only
	// instructions that write no general register.
	RegsKnown bool
	Reads     RegSet
	// Spill are those of Reads that the program may read from a stack
	// slot that the site names (sonde/retarg.h ret_arg: the attach
	// cookie): the walk goes on past an instruction that overwrites one
	// once the caller has stored it whole to its frame (MOVQ reg,
	// off(SP)), while no store overlaps that slot; the site then says
	// where (Site.Spilled). Only with RegsKnown.
	Spill RegSet
}

// maxCallWalk bounds the instructions walked from a return address: Go
// stores the results of a call and sets up the next call's arguments
// (twenty-odd instructions after (*DB).QueryRowContext's inlined
// QueryContext) before the next direct call.
const maxCallWalk = 32

// maxCallSites bounds the call sites a function's returns are moved to;
// beyond it the ret instructions are kept.
const maxCallSites = 64

// siteOf makes a Site at addr of kind k.
func (f *File) siteOf(addr uint64, k SiteKind, emulated bool) (Site, error) {
	off, err := f.fileOffset(addr)
	if err != nil {
		return Site{}, err
	}
	return Site{Addr: addr, Offset: off, Kind: k, Emulated: emulated}, nil
}

// EntryPlacement returns where an entry probe of fn attaches. On amd64 it
// is the PUSHQ BP that follows the stack check (emulated, once per call,
// every argument register as at the first byte: the stack check writes
// only R12 and flags); without one, the stack check's branch (emulated, but
// run again after morestack); else the first byte. On arm64 it is the
// stack check's B.LS (simulated; the check writes only R16 and R17, which
// carry no argument), else the first byte. Classic keeps the first byte.
func (f *File) EntryPlacement(fn Func, classic bool) Placement {
	first := Placement{Kind: SiteFirstByte, Sites: []Site{{Addr: fn.Addr, Offset: fn.Offset, Kind: SiteFirstByte, Again: true}}}
	if classic {
		first.Why = "classic placement"
		return first
	}
	code := make([]byte, min(fn.Size, 64))
	if _, err := f.osf.ReadAt(code, int64(fn.Offset)); err != nil {
		first.Why = "code unreadable: " + err.Error()
		return first
	}
	var at int
	var kind SiteKind
	var why string
	switch f.arch {
	case "amd64":
		at, kind, why = amd64Entry(code)
	case "arm64":
		at, kind, why = arm64Entry(code)
	}
	if at < 0 {
		first.Why = why
		return first
	}
	s, err := f.siteOf(fn.Addr+uint64(at), kind, true)
	if err != nil {
		first.Why = err.Error()
		return first
	}
	s.Again = kind == SiteStackBranch
	return Placement{Kind: kind, Sites: []Site{s}, Why: why}
}

// amd64Entry finds the entry site in the first bytes of a function: the
// offset, its kind and why; -1 for the first byte.
func amd64Entry(code []byte) (int, SiteKind, string) {
	branch := -1
	for i, n := 0, 0; i < len(code) && n < 6; n++ {
		inst, err := x86asm.Decode(code[i:], 64)
		if err != nil {
			break
		}
		switch {
		case code[i] == 0x55 && inst.Len == 1: // PUSHQ BP
			if i == 0 {
				return 0, SitePush, "push %rbp at the first byte (no stack check)"
			}
			return i, SitePush, "push %rbp after the stack check (emulated, once per call)"
		case branch < 0 && isJcc(code[i:], inst) && n > 0:
			branch = i
		case branch < 0 && amd64StackCheck(inst):
		default:
			if branch >= 0 {
				return branch, SiteStackBranch, "no push %rbp after the stack check: its branch (emulated, runs again after morestack)"
			}
			return -1, SiteFirstByte, "no stack check and push prologue recognized"
		}
		i += inst.Len
	}
	if branch >= 0 {
		return branch, SiteStackBranch, "no push %rbp after the stack check: its branch (emulated, runs again after morestack)"
	}
	return -1, SiteFirstByte, "no stack check and push prologue recognized"
}

// amd64StackCheck reports an instruction of Go's amd64 stack check before
// its branch: CMPQ SP or R12 with g.stackguard0 (0x10(R14)), and the
// computation of R12 from SP for large frames. None writes an argument
// register.
func amd64StackCheck(inst x86asm.Inst) bool {
	a0, a1 := inst.Args[0], inst.Args[1]
	switch inst.Op {
	case x86asm.CMP:
		m, ok := a1.(x86asm.Mem)
		return ok && m.Base == x86asm.R14 && (a0 == x86asm.RSP || a0 == x86asm.R12)
	case x86asm.LEA:
		m, ok := a1.(x86asm.Mem)
		return ok && a0 == x86asm.R12 && m.Base == x86asm.RSP
	case x86asm.MOV:
		return a0 == x86asm.R12 && a1 == x86asm.RSP
	case x86asm.SUB:
		_, imm := a1.(x86asm.Imm)
		return a0 == x86asm.R12 && imm
	}
	return false
}

// arm64Entry finds the entry site of an arm64 function: the B.LS of the
// stack check (MOVD 16(g), R16; optionally SUB $n, RSP, R17; CMP; BLS).
func arm64Entry(code []byte) (int, SiteKind, string) {
	for i := 0; i+4 <= len(code) && i < 24; i += 4 {
		inst, err := arm64asm.Decode(code[i : i+4])
		if err != nil {
			break
		}
		switch {
		case i == 0 && inst.Op == arm64asm.LDR && isReg(inst.Args[0], arm64asm.X16):
		case i > 0 && inst.Op == arm64asm.SUB && isReg(inst.Args[0], arm64asm.X17):
		case i > 0 && inst.Op == arm64asm.CMP:
		case i > 0 && inst.Op == arm64asm.B && inst.Args[0] != nil && isCond(inst.Args[0]):
			return i, SiteStackBranch, "the stack check's b.ls (simulated, runs again after morestack)"
		default:
			return -1, SiteFirstByte, "no stack check recognized"
		}
	}
	return -1, SiteFirstByte, "no stack check recognized"
}

func isReg(a arm64asm.Arg, r arm64asm.Reg) bool {
	switch v := a.(type) {
	case arm64asm.Reg:
		return v == r
	case arm64asm.RegSP:
		return arm64asm.Reg(v) == r
	}
	return false
}

func isCond(a arm64asm.Arg) bool {
	_, ok := a.(arm64asm.Cond)
	return ok
}

// isJcc reports a conditional branch the kernel emulates: 70-7f rel8 or
// 0f 80-8f rel32, without a 0x66 prefix.
func isJcc(b []byte, inst x86asm.Inst) bool {
	if inst.Len == 2 && b[0] >= 0x70 && b[0] <= 0x7f {
		return true
	}
	return inst.Len == 6 && b[0] == 0x0f && b[1] >= 0x80 && b[1] <= 0x8f
}

// x86Nops are the kernel's x86_nops (arch/x86/include/asm/nops.h), by
// length: the multi-byte nops that Linux 6.16+ emulates.
var x86Nops = [][]byte{
	1: {0x90},
	2: {0x66, 0x90},
	3: {0x0f, 0x1f, 0x00},
	4: {0x0f, 0x1f, 0x40, 0x00},
	5: {0x0f, 0x1f, 0x44, 0x00, 0x00},
	6: {0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00},
	7: {0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00},
	8: {0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
}

// amd64Emulated reports whether the x86 uprobe code emulates the
// instruction b (inst decoded): branch_setup_xol_ops (nop 0x90, jmp, call
// rel32, jcc) and push_setup_xol_ops (push of a register) in
// arch/x86/kernel/uprobes.c, plus the multi-byte nops where e.NOPL.
func amd64Emulated(b []byte, inst x86asm.Inst, e Emulation) bool {
	b = b[:inst.Len]
	if e.NOPL && inst.Len < len(x86Nops) && slices.Equal(b, x86Nops[inst.Len]) {
		return true
	}
	switch {
	case len(b) == 1 && (b[0] == 0x90 || b[0] >= 0x50 && b[0] <= 0x57): // nop, push
		return true
	case len(b) == 2 && (b[0] == 0x66 && b[1] == 0x90 || b[0] == 0x41 && b[1] >= 0x50 && b[1] <= 0x57):
		return true
	case len(b) == 5 && (b[0] == 0xe8 || b[0] == 0xe9): // call, jmp rel32
		return true
	case len(b) == 2 && b[0] == 0xeb: // jmp rel8
		return true
	}
	return isJcc(b, inst)
}

// amd64Inert reports an instruction that writes no general register, no
// memory outside the current frame and does not branch: the return walk
// may pass it. TEST and CMP write flags only; stores whose address is
// SP-relative write the caller's own frame (spills of the results), which
// return programs do not read; nops.
func amd64Inert(inst x86asm.Inst) bool {
	switch inst.Op {
	case x86asm.TEST, x86asm.CMP, x86asm.NOP:
		return true
	case x86asm.XCHG: // XCHGL AX, AX: Go's inline mark
		return inst.Args[0] == inst.Args[1] && inst.Args[0] != nil
	case x86asm.MOV, x86asm.MOVUPS, x86asm.MOVAPS, x86asm.MOVQ, x86asm.MOVSD_XMM, x86asm.MOVSS, x86asm.MOVDQU:
		m, ok := inst.Args[0].(x86asm.Mem)
		return ok && m.Base == x86asm.RSP && m.Segment == 0
	}
	return false
}

// siteIndex is what return placement needs of the whole executable, read
// once: the functions by address and the code addresses that data holds.
// The code and the data stay in the file: a function's code is read when
// it is disassembled, and the scans of all code and data for references
// read them a chunk at a time (a large program has tens of MB of each).
type siteIndex struct {
	err   error
	osf   io.ReaderAt // the executable
	text  []textSeg
	funcs *pclnTable // by entry
	base  uint64     // runtime.text
	// words are the 8-byte data words (and PIE relocation addends) that
	// point into code, sorted: itabs, func values, jump tables.
	words []uint64
	// data are the data sections but the pclntab: method tables there
	// hold code as 32-bit offsets from runtime.text.
	data []*elf.Section

	mu      sync.Mutex
	decoded map[uint64]*decodedFunc // by entry
	refs    map[uint64]*codeRefs    // by target entry
}

// textSeg is an executable segment's file image.
type textSeg struct {
	addr, size uint64
	off        uint64 // in the file
}

// scanChunk is how much of the code or data a scan reads at a time.
const scanChunk = 1 << 20

// decodedFunc is a function disassembled whole (amd64).
type decodedFunc struct {
	name    string
	entry   uint64
	insts   []x86asm.Inst
	addrs   []uint64        // of each instruction
	code    []byte          // from entry
	targets map[uint64]bool // of its direct branches inside it
	err     error
}

// codeRefs are the references to one function entry found in the code.
type codeRefs struct {
	calls []uint64 // addresses of CALL rel32 instructions to it
	// other says why the function can be reached otherwise (a tail jump,
	// its address taken), or "".
	other string
	// method says where a method table entry with its type names it
	// (reachable from an itab the runtime builds, or from reflection), or
	// "".
	method string
}

func (f *File) siteIndex() *siteIndex {
	f.sitesMu.Lock()
	defer f.sitesMu.Unlock()
	if f.sites == nil {
		f.sites = f.loadSiteIndex()
	}
	return f.sites
}

// ReleaseSites drops what return placement gathered of the executable
// (the code addresses in its data, the functions disassembled): once the
// probes are attached it is not needed. A later placement reads them
// again.
func (f *File) ReleaseSites() {
	f.sitesMu.Lock()
	f.sites = nil
	f.sitesMu.Unlock()
}

func (f *File) loadSiteIndex() *siteIndex {
	ix := &siteIndex{osf: f.osf, decoded: map[uint64]*decodedFunc{}, refs: map[uint64]*codeRefs{}}
	t, err := f.pclntab()
	if err != nil {
		ix.err = err
		return ix
	}
	ix.funcs, ix.base = t, t.text
	if len(f.elf.Sections) == 0 {
		ix.err = fmt.Errorf("no section headers: data cannot be told from the pclntab")
		return ix
	}
	for _, p := range f.elf.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 {
			// The whole file image must be there, as when it was read.
			if p.Filesz > 0 {
				var last [1]byte
				if _, err := f.osf.ReadAt(last[:], int64(p.Off+p.Filesz-1)); err != nil || p.Off+p.Filesz < p.Off {
					if err == nil {
						err = io.ErrUnexpectedEOF
					}
					ix.err = fmt.Errorf("reading segment at %#x: %w", p.Vaddr, err)
					return ix
				}
			}
			ix.text = append(ix.text, textSeg{addr: p.Vaddr, size: p.Filesz, off: p.Off})
		}
	}
	inText := func(a uint64) bool {
		for _, s := range ix.text {
			if a >= s.addr && a < s.addr+s.size {
				return true
			}
		}
		return false
	}
	for _, s := range f.elf.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Flags&elf.SHF_EXECINSTR != 0 || s.Type == elf.SHT_NOBITS {
			continue
		}
		if s.Type == elf.SHT_RELA {
			continue // addends: relativeRelocs below
		}
		if s.Name == ".gopclntab" || s.Name == ".data.rel.ro.gopclntab" {
			// Code as offsets from runtime.text, no code address (its
			// header's textStart is runtime.text itself): not read again,
			// tens of MB for a large program.
			continue
		}
		err := scanSection(s, 0, 7, func(b []byte, lo, hi int, base uint64) {
			for i := alignedFrom(s.Addr, base, lo, 8); i < uint64(hi) && i+8 <= uint64(len(b)); i += 8 {
				if w := binary.LittleEndian.Uint64(b[i:]); w != 0 && inText(w) {
					ix.words = append(ix.words, w)
				}
			}
		})
		if err != nil {
			ix.err = err
			return ix
		}
		ix.data = append(ix.data, s)
	}
	if f.PIE() {
		for _, v := range f.relativeRelocs() {
			if inText(v) {
				ix.words = append(ix.words, v)
			}
		}
	}
	slices.Sort(ix.words)
	ix.words = slices.Compact(ix.words)
	ix.words = slices.Clip(ix.words)
	return ix
}

// scanSection reads the section s a chunk at a time and calls fn for each
// chunk: b[lo:hi] are the bytes not given before, base is the offset of
// b[0] in the section, and b holds up to lead bytes before lo and tail
// bytes after hi (fewer at the ends of the section).
func scanSection(s *elf.Section, lead, tail int, fn func(b []byte, lo, hi int, base uint64)) error {
	if err := scanReader(s.Open(), s.Size, lead, tail, fn); err != nil {
		return fmt.Errorf("reading %s: %w", s.Name, err)
	}
	return nil
}

// scanReader is scanSection for the size bytes of r.
func scanReader(r io.Reader, size uint64, lead, tail int, fn func(b []byte, lo, hi int, base uint64)) error {
	buf := make([]byte, 0, min(uint64(lead+scanChunk+tail), size))
	var base, done uint64 // section offsets of buf[0] and of the end of buf
	lo := 0
	for done < size {
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)][:min(uint64(cap(buf)-len(buf)), size-done)])
		done += uint64(n)
		buf = buf[:len(buf)+n]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		hi := len(buf) - tail
		if done == size {
			hi = len(buf)
		}
		if hi > lo {
			fn(buf, lo, hi, base)
		}
		keep := max(hi-lead, 0)
		copy(buf, buf[keep:])
		buf = buf[:len(buf)-keep]
		base += uint64(keep)
		lo = hi - keep
	}
	return nil
}

// funcAt returns the function holding addr.
func (ix *siteIndex) funcAt(addr uint64) (*gosym.Func, bool) {
	i, ok := ix.funcs.funcAt(addr)
	if !ok {
		return nil, false
	}
	return ix.funcs.fn(i), true
}

// code returns the bytes of [addr, end): from the function disassembled
// that holds them, else read from the file.
func (ix *siteIndex) code(addr, end uint64) ([]byte, bool) {
	if addr > end {
		return nil, false
	}
	if i, ok := ix.funcs.funcAt(addr); ok {
		if d := ix.decoded[ix.base+uint64(ix.funcs.entries[i])]; d != nil && end-d.entry <= uint64(len(d.code)) {
			return d.code[addr-d.entry : end-d.entry], true
		}
	}
	for _, s := range ix.text {
		if addr >= s.addr && end <= s.addr+s.size {
			b := make([]byte, end-addr)
			if _, err := ix.osf.ReadAt(b, int64(s.off+addr-s.addr)); err != nil {
				return nil, false
			}
			return b, true
		}
	}
	return nil, false
}

// decode disassembles the function fn whole, once.
func (ix *siteIndex) decode(fn *gosym.Func) *decodedFunc {
	if d, ok := ix.decoded[fn.Entry]; ok {
		return d
	}
	d := &decodedFunc{name: fn.Name, entry: fn.Entry, targets: map[uint64]bool{}}
	ix.decoded[fn.Entry] = d
	code, ok := ix.code(fn.Entry, fn.End)
	if !ok {
		d.err = fmt.Errorf("%s: code outside the executable segments", fn.Name)
		return d
	}
	d.code = code
	for i := 0; i < len(code); {
		inst, err := x86asm.Decode(code[i:], 64)
		if err != nil {
			d.err = fmt.Errorf("%s+%#x: %w", fn.Name, i, err)
			return d
		}
		addr := fn.Entry + uint64(i)
		d.insts = append(d.insts, inst)
		d.addrs = append(d.addrs, addr)
		if rel, ok := inst.Args[0].(x86asm.Rel); ok && inst.Op != x86asm.CALL {
			if t := addr + uint64(inst.Len) + uint64(int64(rel)); t >= fn.Entry && t < fn.End {
				d.targets[t] = true
			}
		}
		i += inst.Len
	}
	return d
}

// at returns the index of the instruction holding addr.
func (d *decodedFunc) at(addr uint64) (int, bool) {
	i := sort.Search(len(d.addrs), func(i int) bool { return d.addrs[i] > addr }) - 1
	if i < 0 || addr >= d.addrs[i]+uint64(d.insts[i].Len) {
		return 0, false
	}
	return i, true
}

// PrepareReturns finds, in one pass over the code, the references to each
// of fns (amd64): ReturnPlacement then needs no pass of its own.
func (f *File) PrepareReturns(fns []Func) {
	if f.arch != "amd64" {
		return
	}
	ix := f.siteIndex()
	if ix.err != nil {
		return
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	var todo []uint64
	for _, fn := range fns {
		if _, ok := ix.refs[fn.Addr]; !ok && !slices.Contains(todo, fn.Addr) {
			todo = append(todo, fn.Addr)
		}
	}
	ix.findRefs(todo)
}

// findRefs scans the code for every 32-bit field that names one of
// entries, PC-relative (calls, jumps, LEAQ of the address) or absolute,
// and the data for words that hold one of them; ix.mu is held.
func (ix *siteIndex) findRefs(entries []uint64) {
	if len(entries) == 0 {
		return
	}
	var bloom [1 << 16 / 64]uint64
	want := map[uint64]*codeRefs{}
	for _, e := range entries {
		want[e] = &codeRefs{}
		ix.refs[e] = want[e]
		h := (e >> 4) & 0xffff
		bloom[h/64] |= 1 << (h % 64)
	}
	hit := func(t uint64) *codeRefs {
		if t&15 != 0 {
			return nil
		}
		h := (t >> 4) & 0xffff
		if bloom[h/64]&(1<<(h%64)) == 0 {
			return nil
		}
		return want[t]
	}
	for _, e := range entries {
		if i, ok := slices.BinarySearch(ix.words, e); ok && ix.words[i] == e {
			want[e].other = "its address is in data (an itab, a func value or a method value)"
		}
	}
	// Method tables name code by its offset from runtime.text.
	offs := map[uint32]*codeRefs{}
	for _, e := range entries {
		if e > ix.base && e-ix.base < 1<<32 {
			offs[uint32(e-ix.base)] = want[e]
		}
	}
	for _, s := range ix.data {
		// unmarkedMethod reads the two words before and the word after.
		err := scanSection(s, 8, 7, func(b []byte, lo, hi int, base uint64) {
			for i := alignedFrom(s.Addr, base, lo, 4); i < uint64(hi) && i+4 <= uint64(len(b)); i += 4 {
				v := binary.LittleEndian.Uint32(b[i:])
				if r := offs[v]; r != nil && r.method == "" && !unmarkedMethod(b, i, v) {
					r.method = fmt.Sprintf("its offset from runtime.text is in data at %#x (a method table entry with its type: the runtime can put it in an itab)", s.Addr+base+i)
				}
			}
		})
		if err != nil {
			for _, r := range want {
				if r.method == "" {
					r.method = "data unreadable: " + err.Error()
				}
			}
		}
	}
	type cand struct {
		at     uint64 // of the 32-bit field
		rel    bool   // PC-relative (else absolute)
		target uint64
	}
	var cands []cand
	for _, s := range ix.text {
		err := scanReader(io.NewSectionReader(ix.osf, int64(s.off), int64(s.size)), s.size, 0, 3, func(b []byte, lo, hi int, base uint64) {
			for i := lo; i < hi && i+4 <= len(b); i++ {
				v := binary.LittleEndian.Uint32(b[i:])
				at := s.addr + base + uint64(i)
				if t := at + 4 + uint64(int64(int32(v))); hit(t) != nil {
					cands = append(cands, cand{at, true, t})
				}
				if hit(uint64(v)) != nil {
					cands = append(cands, cand{at, false, uint64(v)})
				}
			}
		})
		if err != nil {
			for _, r := range want {
				if r.other == "" {
					r.other = fmt.Sprintf("code unreadable: reading segment at %#x: %v", s.addr, err)
				}
			}
		}
	}
	for _, c := range cands {
		r := want[c.target]
		fn, ok := ix.funcAt(c.at)
		if !ok {
			if r.other == "" {
				r.other = fmt.Sprintf("code outside the Go functions refers to it at %#x", c.at)
			}
			continue
		}
		d := ix.decode(fn)
		if d.err != nil {
			if r.other == "" {
				r.other = "a function that refers to it does not disassemble: " + d.err.Error()
			}
			continue
		}
		i, ok := d.at(c.at)
		if !ok {
			continue // padding
		}
		inst, addr := d.insts[i], d.addrs[i]
		end := addr + uint64(inst.Len)
		if c.rel {
			// A PC-relative field counts from the end of its instruction:
			// a match elsewhere in the bytes is a coincidence.
			if inst.PCRel != 4 || addr+uint64(inst.PCRelOff) != c.at || end != c.at+4 {
				continue
			}
			switch {
			case inst.Op == x86asm.CALL:
				r.calls = append(r.calls, addr)
			case fn.Entry == c.target:
				// The function's own jump back to its entry (morestack).
			case r.other == "":
				if _, isRel := inst.Args[0].(x86asm.Rel); isRel {
					r.other = fmt.Sprintf("%s jumps to it (a tail call) at %#x", fn.Name, addr)
				} else {
					r.other = fmt.Sprintf("%s takes its address at %#x (%v)", fn.Name, addr, inst.Op)
				}
			}
			continue
		}
		if r.other == "" && refersAbs(inst, c.target) {
			r.other = fmt.Sprintf("%s holds its address as a constant at %#x", fn.Name, addr)
		}
	}
	for _, r := range want {
		slices.Sort(r.calls)
		r.calls = slices.Compact(r.calls)
	}
}

// unmarkedMethod reports whether the 32-bit word off at b[i:] is the Ifn or
// the Tfn of a method table entry (abi.Method: Name, Mtyp, Ifn, Tfn, each
// 32 bits) whose Mtyp is -1. The linker writes -1 for the type of a method
// it found no interface call or reflection for (cmd/link deadcode), and the
// runtime never puts such a method in an itab (itab.init compares the
// method's type, and resolveTypeOff gives nil for -1) nor reflection
// calls it (exported methods all keep their type once reflection is seen).
func unmarkedMethod(b []byte, i uint64, off uint32) bool {
	word := func(j int64) (uint32, bool) {
		if j < 0 || j+4 > int64(len(b)) {
			return 0, false
		}
		return binary.LittleEndian.Uint32(b[j:]), true
	}
	const none = 0xffffffff
	at := int64(i)
	// As Ifn: Mtyp before it, Tfn after it.
	if m, ok := word(at - 4); ok && m == none {
		if t, ok := word(at + 4); ok && (t == off || t == none) {
			return true
		}
	}
	// As Tfn: Mtyp and Ifn before it.
	if m, ok := word(at - 8); ok && m == none {
		if f, ok := word(at - 4); ok && (f == off || f == none) {
			return true
		}
	}
	return false
}

// refersAbs reports an instruction with target as an immediate or an
// absolute displacement.
func refersAbs(inst x86asm.Inst, target uint64) bool {
	for _, a := range inst.Args {
		switch v := a.(type) {
		case x86asm.Imm:
			if uint64(v) == target {
				return true
			}
		case x86asm.Mem:
			if v.Base != x86asm.RIP && uint64(v.Disp) == target {
				return true
			}
		}
	}
	return false
}

// ReturnPlacement returns where a return probe of fn attaches. On arm64
// it is every ret (the kernel simulates ret). On amd64 it is each direct
// call site's return address in the callers, or the first emulated
// instruction after it that the walk reaches through inert instructions
// (TEST, CMP, nops, stores into the caller's frame), when that is
// provably every way fn returns: fn's address is nowhere in data or code
// (no itab, func value, method table entry), nothing jumps to it, and no
// return address is also a branch target (where a probe would fire for
// another path). Otherwise, or when no caller offers an emulated site, it
// is every ret.
func (f *File) ReturnPlacement(fn Func, opt ReturnOptions) (Placement, error) {
	rets := Placement{Kind: SiteRet}
	for _, off := range fn.Returns {
		rets.Sites = append(rets.Sites, Site{Addr: fn.Addr + off - fn.Offset, Offset: off, Kind: SiteRet, Emulated: f.arch == "arm64"})
	}
	switch {
	case len(rets.Sites) == 0:
		return rets, fmt.Errorf("function %s: no return instruction found", fn.Name)
	case opt.Classic:
		rets.Why = "classic placement"
		return rets, nil
	case f.arch == "arm64":
		rets.Why = "ret is simulated by the arm64 kernel"
		return rets, nil
	case opt.ReadsSP:
		rets.Why = "its program reads the stack pointer (stack results), which differs at the callers"
		return rets, nil
	}
	ix := f.siteIndex()
	if ix.err != nil {
		rets.Why = "callers not analyzed: " + ix.err.Error()
		return rets, nil
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	r, ok := ix.refs[fn.Addr]
	if !ok {
		ix.findRefs([]uint64{fn.Addr})
		r = ix.refs[fn.Addr]
	}
	switch {
	case r.other != "":
		rets.Why = "may be called indirectly: " + r.other
		return rets, nil
	case r.method != "" && !opt.MethodTable:
		rets.Why = "may be called indirectly: " + r.method
		return rets, nil
	case len(r.calls) == 0:
		rets.Why = "no direct call found"
		return rets, nil
	case len(r.calls) > maxCallSites:
		rets.Why = fmt.Sprintf("%d call sites, more than %d", len(r.calls), maxCallSites)
		return rets, nil
	}
	calls := Placement{Kind: SiteCall}
	for _, c := range r.calls {
		s, why := f.callSite(ix, c, opt)
		if why != "" {
			rets.Why = why
			return rets, nil
		}
		calls.Sites = append(calls.Sites, s)
	}
	n := calls.Emulated()
	if n == 0 {
		rets.Why = fmt.Sprintf("no emulated instruction after any of its %d call sites", len(calls.Sites))
		return rets, nil
	}
	calls.Why = fmt.Sprintf("address never taken; %d direct call sites, %d on an emulated instruction", len(calls.Sites), n)
	if r.method != "" {
		calls.Why = fmt.Sprintf("address taken only by its method table, whose receiver reaches no interface but through reflection; %d direct call sites, %d on an emulated instruction", len(calls.Sites), n)
	}
	calls.Why += spillText(calls.Sites)
	return calls, nil
}

// callSite places the return probe for the call instruction at call: the
// first emulated instruction from its return address on, through inert
// ones (with opt.GOnly, through any that neither branches nor writes g;
// with opt.RegsKnown, through writes of registers the program does not
// read, or of results already stored to the frame: spillWalk), none of
// them a branch target; else the return address itself. why is set when
// the return address is a branch target.
func (f *File) callSite(ix *siteIndex, call uint64, opt ReturnOptions) (Site, string) {
	fn, _ := ix.funcAt(call)
	d := ix.decode(fn)
	i, _ := d.at(call)
	ret := call + uint64(d.insts[i].Len)
	i++
	if i >= len(d.insts) || d.addrs[i] != ret {
		return Site{}, fmt.Sprintf("the call in %s at %#x is its last instruction", fn.Name, call)
	}
	isTarget := func(a uint64) bool {
		if d.targets[a] {
			return true
		}
		_, ok := slices.BinarySearch(ix.words, a)
		return ok
	}
	if isTarget(ret) {
		return Site{}, fmt.Sprintf("the return address %#x in %s is also a branch target", ret, fn.Name)
	}
	at, emulated := ret, false
	w := newSpillWalk(opt)
	var end spillWalk // where the results are at the site
	for j := i; j < len(d.insts) && j < i+maxCallWalk; j++ {
		a := d.addrs[j]
		if j > i && isTarget(a) {
			break
		}
		b, _ := ix.code(a, a+uint64(d.insts[j].Len))
		if amd64Emulated(b, d.insts[j], opt.Emulation) {
			at, emulated, end = a, true, w
			break
		}
		if opt.GOnly {
			if !amd64Inert(d.insts[j]) && !keepsG(d.insts[j]) {
				break
			}
			continue
		}
		if !w.pass(d.insts[j]) {
			break
		}
	}
	s, err := f.siteOf(at, SiteCall, emulated)
	if err != nil {
		return Site{}, err.Error()
	}
	s.Caller = fn.Name
	end.site(&s)
	return s, ""
}

// alignedFrom returns the first index from lo of a chunk read at offset
// base of a section at addr whose address is a multiple of n (a power of
// two).
func alignedFrom(addr, base uint64, lo int, n uint64) uint64 {
	return uint64(lo) + (n-(addr+base+uint64(lo))%n)%n
}
