package binary

import (
	"bytes"
	"debug/dwarf"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/sonde-go/auto/internal/offsets"
)

// Synthetic inputs for the fuzz targets: a pclntab of two functions and a
// small Go-like ELF around it, so that the fuzzer starts from files every
// parser accepts. Real binaries are megabytes, too large for a corpus.

const (
	synthText = 0x401000 // runtime.text of the synthetic ELF
	synthBase = 0x400000 // vaddr - file offset of every segment
)

// synthPclntab returns a Go 1.20 pclntab of main.a (16 bytes) and main.b
// (16 bytes) starting at text 0.
func synthPclntab() []byte {
	le := binary.LittleEndian
	names := []byte("main.a\x00main.b\x00")
	cutab := make([]byte, 4) // one file, offset 0 in filetab
	filetab := []byte("a.go\x00")
	pctab := []byte{0, 0x02, 0x10, 0} // value delta 0 for 16 bytes, then end

	funcname := uint64(pcHeaderSize)
	cu := funcname + uint64(len(names))
	file := cu + uint64(len(cutab))
	pct := file + uint64(len(filetab))
	functab := pct + uint64(len(pctab))

	var b bytes.Buffer
	hdr := make([]byte, pcHeaderSize)
	le.PutUint32(hdr, go120Magic)
	hdr[6], hdr[7] = 1, 8
	le.PutUint64(hdr[8:], 2)  // nfunc
	le.PutUint64(hdr[16:], 1) // nfiles
	for i, off := range []uint64{funcname, cu, file, pct, functab} {
		le.PutUint64(hdr[32+8*i:], off)
	}
	b.Write(hdr)
	b.Write(names)
	b.Write(cutab)
	b.Write(filetab)
	b.Write(pctab)

	// functab: {entry, funcoff} x 2, then the end entry; the _func
	// descriptors (44 bytes each in Go 1.20) follow.
	const ftab = 2*8 + 4
	ft := make([]byte, ftab)
	le.PutUint32(ft[0:], 0)
	le.PutUint32(ft[4:], ftab)
	le.PutUint32(ft[8:], 16)
	le.PutUint32(ft[12:], ftab+44)
	le.PutUint32(ft[16:], 32)
	b.Write(ft)
	for i, nameOff := range []uint32{0, 7} {
		fn := make([]byte, 44)
		le.PutUint32(fn[0:], uint32(16*i)) // entryOff
		le.PutUint32(fn[4:], nameOff)      // nameOff
		le.PutUint32(fn[16:], 1)           // pcsp
		le.PutUint32(fn[20:], 1)           // pcfile
		le.PutUint32(fn[24:], 1)           // pcln
		b.Write(fn)
	}
	return b.Bytes()
}

// synthBuildInfo returns a .go.buildinfo section with inline strings
// (Go 1.18+): the Go version and a module list.
func synthBuildInfo() []byte {
	var b bytes.Buffer
	b.WriteString("\xff Go buildinf:")
	b.WriteByte(8)   // pointer size
	b.WriteByte(0x2) // little endian, inline strings
	b.Write(make([]byte, 16))
	str := func(s string) {
		b.Write(binary.AppendUvarint(nil, uint64(len(s))))
		b.WriteString(s)
	}
	str("go1.26.8")
	str("0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6" +
		"path\texample.com/synth\nmod\texample.com/synth\t(devel)\t\ndep\tgoogle.golang.org/grpc\tv1.85.0\t\n" +
		"\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2")
	return b.Bytes()
}

// synthDWARF returns .debug_abbrev and .debug_info (DWARF 4) describing
// struct net/http.Request { Method uint64 @0; ctx uint64 @8 } (16 bytes).
func synthDWARF() (abbrev, info []byte) {
	abbrev = []byte{
		1, 0x11, 1, 0x03, 0x08, 0, 0, // compile_unit, children: name string
		2, 0x13, 1, 0x03, 0x08, 0x0b, 0x0b, 0, 0, // structure_type: name, byte_size data1
		3, 0x0d, 0, 0x03, 0x08, 0x38, 0x0b, 0x49, 0x13, 0, 0, // member: name, data_member_location data1, type ref4
		4, 0x24, 0, 0x03, 0x08, 0x0b, 0x0b, 0x3e, 0x0b, 0, 0, // base_type: name, byte_size, encoding
		0,
	}
	var d bytes.Buffer
	d.Write([]byte{0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 8}) // length (below), version 4, abbrev 0, address size 8
	d.WriteString("\x01synth\x00")
	u64 := uint32(d.Len())
	d.WriteString("\x04uint64\x00\x08\x07")
	d.WriteString("\x02net/http.Request\x00\x10")
	for i, name := range []string{"Method", "ctx"} {
		d.WriteString("\x03" + name + "\x00")
		d.WriteByte(byte(8 * i))
		d.Write(binary.LittleEndian.AppendUint32(nil, u64))
	}
	d.Write([]byte{0, 0})
	info = d.Bytes()
	binary.LittleEndian.PutUint32(info, uint32(len(info)-4))
	return abbrev, info
}

// synthSection is one section of the synthetic ELF; loaded sections get a
// PT_LOAD at vaddr = synthBase + file offset.
type synthSection struct {
	name  string
	typ   uint32
	flags uint64 // SHF_*: 0 for sections that are not loaded
	data  []byte
	phf   uint32 // PF_* of its PT_LOAD
}

// synthELF lays out a little-endian amd64 ELF executable: .text (returns
// only) at synthText, .gopclntab and .go.buildinfo, loaded; then the
// extra sections given (not loaded) and .shstrtab.
func synthELF(extra ...synthSection) []byte {
	le := binary.LittleEndian
	secs := []synthSection{
		{".text", 1, 6, bytes.Repeat([]byte{0xc3}, 32), 5},
		{".gopclntab", 1, 2, synthPclntab(), 4},
		{".go.buildinfo", 1, 3, synthBuildInfo(), 6},
	}
	secs = append(secs, extra...)
	shstr := []byte{0}
	names := make([]uint32, len(secs)+1)
	for i, s := range append(secs, synthSection{name: ".shstrtab"}) {
		names[i] = uint32(len(shstr))
		shstr = append(append(shstr, s.name...), 0)
	}
	secs = append(secs, synthSection{name: ".shstrtab", typ: 3, data: shstr})

	align := func(n int) int { return (n + 15) &^ 15 }
	const phoff = 64
	var phnum int
	offs := make([]int, len(secs))
	pos := int(synthText - synthBase)
	for i, s := range secs {
		offs[i] = pos
		pos = align(pos + len(s.data))
		if s.flags != 0 {
			phnum++
		}
	}
	shoff := pos
	shnum := len(secs) + 1
	out := make([]byte, shoff+64*shnum)

	copy(out, "\x7fELF")
	out[4], out[5], out[6] = 2, 1, 1 // 64-bit, little endian, version
	le.PutUint16(out[16:], 2)        // ET_EXEC
	le.PutUint16(out[18:], 62)       // EM_X86_64
	le.PutUint32(out[20:], 1)
	le.PutUint64(out[24:], synthText) // entry
	le.PutUint64(out[32:], phoff)
	le.PutUint64(out[40:], uint64(shoff))
	le.PutUint16(out[52:], 64)
	le.PutUint16(out[54:], 56)
	le.PutUint16(out[56:], uint16(phnum))
	le.PutUint16(out[58:], 64)
	le.PutUint16(out[60:], uint16(shnum))
	le.PutUint16(out[62:], uint16(shnum-1)) // .shstrtab is last

	ph := 0
	for i, s := range secs {
		copy(out[offs[i]:], s.data)
		sh := out[shoff+64*(i+1):]
		le.PutUint32(sh, names[i])
		le.PutUint32(sh[4:], s.typ)
		le.PutUint64(sh[8:], s.flags)
		le.PutUint64(sh[24:], uint64(offs[i]))
		le.PutUint64(sh[32:], uint64(len(s.data)))
		le.PutUint64(sh[48:], 1)
		if s.flags == 0 {
			continue
		}
		le.PutUint64(sh[16:], uint64(synthBase+offs[i]))
		p := out[phoff+56*ph:]
		ph++
		le.PutUint32(p, 1) // PT_LOAD
		le.PutUint32(p[4:], s.phf)
		le.PutUint64(p[8:], uint64(offs[i]))
		le.PutUint64(p[16:], uint64(synthBase+offs[i]))
		le.PutUint64(p[24:], uint64(synthBase+offs[i]))
		le.PutUint64(p[32:], uint64(len(s.data)))
		le.PutUint64(p[40:], uint64(len(s.data)))
		le.PutUint64(p[48:], 16)
	}
	return out
}

// synthELFWithDWARF is synthELF with synthDWARF's sections.
func synthELFWithDWARF() []byte {
	abbrev, info := synthDWARF()
	return synthELF(synthSection{name: ".debug_abbrev", typ: 1, data: abbrev}, synthSection{name: ".debug_info", typ: 1, data: info})
}

// TestSynthELF: the fuzz seeds are accepted whole, so that mutations start
// from a file that reaches every parser.
func TestSynthELF(t *testing.T) {
	path := filepath.Join(t.TempDir(), "synth")
	if err := os.WriteFile(path, synthELFWithDWARF(), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.GoVersion() != "go1.26.8" || f.Modules()["google.golang.org/grpc"] != "v1.85.0" {
		t.Errorf("build info: %s %v", f.GoVersion(), f.Modules())
	}
	for i, name := range []string{"main.a", "main.b"} {
		fn, err := f.Func(name)
		if err != nil {
			t.Fatalf("Func(%s): %v", name, err)
		}
		if want := uint64(synthText + 16*i); fn.Addr != want || fn.Size != 16 || len(fn.Returns) != 16 {
			t.Errorf("Func(%s) = %#x+%d, %d returns; want %#x+16, 16 returns", name, fn.Addr, fn.Size, len(fn.Returns), want)
		}
	}
	d, err := f.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	tab, err := offsets.FromDWARF(d, fuzzFields)
	if err != nil || tab.Get(fuzzFields[0]) != 0 || tab.Get(fuzzFields[1]) != 8 {
		t.Errorf("offsets.FromDWARF = %v, %v; want Method 0, ctx 8", tab, err)
	}
	if n, err := offsets.Size(d, "net/http.Request"); n != 16 || err != nil {
		t.Errorf("offsets.Size = %d, %v; want 16", n, err)
	}
}

// FuzzPclntab: checkPcHeader never panics, and a table it accepts parses
// without exhausting memory (debug/gosym allocates from its header).
func FuzzPclntab(f *testing.F) {
	f.Add(synthPclntab())
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkPcHeader(data) != nil {
			return
		}
		tab, err := parsePcln(data, synthText)
		if err != nil {
			return
		}
		if n := binary.LittleEndian.Uint64(data[8:]); uint64(tab.count()) > n {
			t.Errorf("%d functions parsed, the header claims %d", tab.count(), n)
		}
	})
}

// FuzzOpen: a hostile executable (ELF headers, build info, symbols,
// pclntab, DWARF) gives errors, never a panic or unbounded allocation.
func FuzzOpen(f *testing.F) {
	f.Add(synthELF())
	f.Add(synthELFWithDWARF())
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "exe")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		bf, err := Open(path)
		if err != nil {
			return
		}
		defer bf.Close()
		_ = bf.Modules()
		for _, name := range []string{"main.a", "main.b", "runtime.newproc1"} {
			if fn, err := bf.Func(name); err == nil && fn.Size > uint64(len(data)) {
				t.Errorf("Func(%s): %d bytes of code in a %d-byte file", name, fn.Size, len(data))
			}
		}
		_, _ = bf.ReadPtr(synthText)
		if d, err := bf.DWARF(); err == nil {
			walkDWARF(d, 10000)
		}
	})
}

// fuzzFields are looked up in fuzzed DWARF as the probes look up theirs.
var fuzzFields = []offsets.Field{{Struct: "net/http.Request", Name: "Method"}, {Struct: "net/http.Request", Name: "ctx"}}

// walkDWARF reads field offsets and a type size as internal/offsets does
// for the probes, then up to n entries and their types.
func walkDWARF(d *dwarf.Data, n int) {
	_, _ = offsets.FromDWARF(d, fuzzFields)
	_, _ = offsets.Size(d, "net/http.Request")
	r := d.Reader()
	for range n {
		e, err := r.Next()
		if err != nil || e == nil {
			return
		}
		if off, ok := e.Val(dwarf.AttrType).(dwarf.Offset); ok {
			_, _ = d.Type(off)
		}
	}
}
