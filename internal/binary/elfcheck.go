package binary

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// badELF explains why elf.NewFile failed on osf: not an ELF at all, an ELF
// cut short, or one whose headers are damaged.
func badELF(path string, osf *os.File, parseErr error) error {
	var hdr [64]byte
	n, _ := osf.ReadAt(hdr[:], 0)
	if n < 4 || !bytes.Equal(hdr[:4], []byte(elf.ELFMAG)) {
		return fmt.Errorf("%s: %w (not an ELF file)", path, ErrNotGo)
	}
	size := fileSize(osf)
	if n < len(hdr) {
		return fmt.Errorf("%s: %w: %d bytes, shorter than an ELF header", path, ErrTruncated, size)
	}
	if hdr[elf.EI_CLASS] != byte(elf.ELFCLASS64) || hdr[elf.EI_DATA] != byte(elf.ELFDATA2LSB) {
		return fmt.Errorf("%s: %w: %v", path, ErrCorrupt, parseErr)
	}
	le := binary.LittleEndian
	phoff, shoff := le.Uint64(hdr[0x20:]), le.Uint64(hdr[0x28:])
	phentsize, phnum := uint64(le.Uint16(hdr[0x36:])), uint64(le.Uint16(hdr[0x38:]))
	shentsize, shnum := uint64(le.Uint16(hdr[0x3a:])), uint64(le.Uint16(hdr[0x3c:]))
	// An ELF cut short has intact headers (at the start of the file: the
	// program headers, and the section headers in Go binaries) describing
	// more bytes than the file has. Section headers that are themselves
	// past the end are a damaged header, unless they start just past it
	// (other linkers put them last).
	end, ok := segmentsEnd(osf, phoff, phentsize, phnum, size)
	if shend := shoff + shnum*shentsize; shend > size {
		if ok && end <= size && shoff >= end && shoff/4 < size {
			return truncated(path, size, shend)
		}
		if !ok || end <= size {
			return fmt.Errorf("%s: %w: section headers at byte %#x are past the end of the file (%d bytes)", path, ErrCorrupt, shoff, size)
		}
	} else if send, ok := sectionsEnd(osf, shoff, shentsize, shnum); ok {
		end = max(end, send)
	}
	if end > size {
		return truncated(path, size, end)
	}
	return fmt.Errorf("%s: %w: %v", path, ErrCorrupt, parseErr)
}

// checkSize reports an ELF whose segments or sections extend past the end
// of the file.
func checkSize(path string, osf *os.File, ef *elf.File) error {
	size := fileSize(osf)
	var end uint64
	for _, p := range ef.Progs {
		if p.Type == elf.PT_LOAD || p.Type == elf.PT_NOTE {
			end = max(end, p.Off+p.Filesz)
		}
	}
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS {
			end = max(end, s.Offset+s.FileSize)
		}
	}
	if end > size {
		return truncated(path, size, end)
	}
	return nil
}

func truncated(path string, size, end uint64) error {
	return fmt.Errorf("%s: %w: %d bytes of the %d its headers describe (an incomplete copy?)", path, ErrTruncated, size, end)
}

// segmentsEnd returns where the last loaded segment ends in the file, and
// false when the program headers themselves cannot be read.
func segmentsEnd(r io.ReaderAt, phoff, phentsize, phnum, size uint64) (uint64, bool) {
	if phnum == 0 || phentsize < 56 || phoff+phnum*phentsize > size {
		return 0, false
	}
	var end uint64
	buf := make([]byte, 56)
	for i := range phnum {
		if _, err := r.ReadAt(buf, int64(phoff+i*phentsize)); err != nil {
			return 0, false
		}
		typ := elf.ProgType(binary.LittleEndian.Uint32(buf))
		if typ != elf.PT_LOAD && typ != elf.PT_NOTE {
			continue
		}
		off, filesz := binary.LittleEndian.Uint64(buf[8:]), binary.LittleEndian.Uint64(buf[32:])
		end = max(end, off+filesz)
	}
	return end, true
}

// sectionsEnd returns where the last section with file contents ends, and
// false when the section headers cannot be read.
func sectionsEnd(r io.ReaderAt, shoff, shentsize, shnum uint64) (uint64, bool) {
	if shnum == 0 || shentsize < 64 {
		return 0, false
	}
	var end uint64
	buf := make([]byte, 64)
	for i := range shnum {
		if _, err := r.ReadAt(buf, int64(shoff+i*shentsize)); err != nil {
			return 0, false
		}
		if elf.SectionType(binary.LittleEndian.Uint32(buf[4:])) == elf.SHT_NOBITS {
			continue
		}
		off, sz := binary.LittleEndian.Uint64(buf[24:]), binary.LittleEndian.Uint64(buf[32:])
		end = max(end, off+sz)
	}
	return end, true
}

func fileSize(f *os.File) uint64 {
	fi, err := f.Stat()
	if err != nil {
		return 0
	}
	return uint64(fi.Size())
}
