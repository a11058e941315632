package process

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// ErrNotMapped is returned by LoadBias when the executable is not mapped
// in the target.
var ErrNotMapped = errors.New("executable not mapped")

// LoadBias returns what to add to the executable's ELF virtual addresses
// (symbol values) to get run-time addresses in the target: 0 for a non-PIE
// executable, the load address for a PIE one.
//
// exe is the file as Sonde sees it, "" meaning ExeFile(pid). Its mappings in
// /proc/PID/maps are recognized by device and inode, never by path string
// (the target may live in another mount namespace). The first mapping's
// start minus its file offset is adjusted by the ELF segment that holds that
// offset, so non-PIE executables come out at 0.
func LoadBias(pid int, exe string) (uint64, error) {
	if exe == "" {
		exe = ExeFile(pid)
	}
	bias, err := loadBias(pid, exe)
	if err != nil {
		return 0, fmt.Errorf("finding load bias of %s in process %d: %w", exe, pid, err)
	}
	return bias, nil
}

func loadBias(pid int, exe string) (uint64, error) {
	fi, err := os.Stat(exe)
	if err != nil {
		return 0, wrapExited(pid, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("stat of %s has no inode", exe)
	}
	start, off, err := firstMapping(pid, uint64(st.Dev), st.Ino)
	if err != nil {
		return 0, err
	}
	f, err := elf.Open(exe)
	if err != nil {
		return 0, fmt.Errorf("reading elf: %w", err)
	}
	defer f.Close()
	page := uint64(os.Getpagesize())
	for _, p := range f.Progs {
		if p.Type != elf.PT_LOAD || off < p.Off&^(page-1) || off >= p.Off+p.Filesz {
			continue
		}
		// The mapping at start holds file offset off, which the segment
		// places at p.Vaddr + (off - p.Off); the difference is the bias.
		return start - (p.Vaddr + off - p.Off), nil
	}
	return 0, fmt.Errorf("no loadable segment holds file offset %#x", off)
}

// firstMapping returns the start address and file offset of the lowest
// mapping of the file dev:ino in the target. Mappings whose inode matches
// but whose device differs (overlayfs reports the underlying device) are
// used only when no mapping matches both.
func firstMapping(pid int, dev, ino uint64) (start, off uint64, err error) {
	f, err := os.Open(procPath(pid, "maps"))
	if err != nil {
		return 0, 0, wrapExited(pid, err)
	}
	defer f.Close()
	var inodeOnly *mapping
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m, ok := parseMapsLine(sc.Text())
		if !ok || m.ino != ino {
			continue
		}
		if m.dev == dev {
			return m.start, m.off, nil
		}
		if inodeOnly == nil {
			inodeOnly = &m
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("reading maps: %w", wrapExited(pid, err))
	}
	if inodeOnly != nil {
		return inodeOnly.start, inodeOnly.off, nil
	}
	if !Alive(pid) {
		return 0, 0, ErrExited
	}
	return 0, 0, ErrNotMapped
}

type mapping struct {
	start, off, dev, ino uint64
}

// parseMapsLine parses "start-end perms offset major:minor inode [path]".
func parseMapsLine(line string) (mapping, bool) {
	fields := strings.Fields(line)
	if len(fields) < 5 {
		return mapping{}, false
	}
	addr, _, ok := strings.Cut(fields[0], "-")
	if !ok {
		return mapping{}, false
	}
	maj, mnr, ok := strings.Cut(fields[3], ":")
	if !ok {
		return mapping{}, false
	}
	start, err1 := strconv.ParseUint(addr, 16, 64)
	off, err2 := strconv.ParseUint(fields[2], 16, 64)
	ma, err3 := strconv.ParseUint(maj, 16, 32)
	mi, err4 := strconv.ParseUint(mnr, 16, 32)
	ino, err5 := strconv.ParseUint(fields[4], 10, 64)
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return mapping{}, false
	}
	return mapping{start: start, off: off, dev: unix.Mkdev(uint32(ma), uint32(mi)), ino: ino}, true
}
