package binary

import (
	"debug/buildinfo"
	"debug/dwarf"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Errors callers can test with errors.Is.
var (
	// ErrNotGo reports a file that is not a Go executable: not ELF, or ELF
	// with neither Go build info nor a Go pclntab.
	ErrNotGo = errors.New("not a Go executable")
	// ErrNoFunc reports a function that is in neither the symbol table nor
	// the pclntab.
	ErrNoFunc = errors.New("function not found")
	// ErrNoDWARF reports an executable built without DWARF (-ldflags=-w).
	ErrNoDWARF = errors.New("no DWARF debug info")
	// ErrUnsupportedArch reports an ELF for an architecture other than
	// amd64 or arm64.
	ErrUnsupportedArch = errors.New("unsupported architecture")
	// ErrTruncated reports an ELF file shorter than its own headers say:
	// an incomplete copy or download.
	ErrTruncated = errors.New("truncated ELF file")
	// ErrCorrupt reports an ELF file whose headers cannot be parsed, or
	// whose Go tables (pclntab, DWARF) claim more than the file holds.
	ErrCorrupt = errors.New("corrupted ELF file")
	// ErrNotRegular reports a path that is not a regular file: a
	// directory, a FIFO, a socket or a device. Such files are refused
	// before anything is read from them (a FIFO would block).
	ErrNotRegular = errors.New("not a regular file")
)

// openRegular opens path for reading without blocking (O_NONBLOCK, so that
// a FIFO with no writer cannot hang the caller) and refuses anything but a
// regular file.
func openRegular(path string) (*os.File, error) {
	// Stat first for sockets, which open(2) refuses with ENXIO; the fstat
	// after the open is the check that counts.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegularErr(path, fi.Mode())
	}
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("opening executable: %w", &os.PathError{Op: "open", Path: path, Err: err})
	}
	osf := os.NewFile(uintptr(fd), path)
	fi, err := osf.Stat()
	switch {
	case err != nil:
		osf.Close()
		return nil, fmt.Errorf("opening executable: %w", err)
	case !fi.Mode().IsRegular():
		osf.Close()
		return nil, notRegularErr(path, fi.Mode())
	}
	return osf, nil
}

func notRegularErr(path string, m fs.FileMode) error {
	if m.IsDir() {
		return notRegular(path + ": is a directory, not an executable")
	}
	return notRegular(path + ": is a " + fileKind(m) + ", not an executable")
}

// notRegular is an error that reads as msg and matches ErrNotRegular.
type notRegular string

func (e notRegular) Error() string { return string(e) }
func (e notRegular) Unwrap() error { return ErrNotRegular }

// fileKind names the type of a file that is not regular.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	}
	return "special file"
}

// File is an opened Go ELF executable. Its methods are safe for concurrent
// use.
type File struct {
	path    string
	osf     *os.File
	elf     *elf.File
	arch    string
	goVer   string
	modules map[string]string

	symsOnce sync.Once
	syms     map[string]symbol // symbol table by name

	dwarfOnce sync.Once
	dwarf     *dwarf.Data
	dwarfErr  error

	pclnOnce sync.Once
	pcln     *pclnTable
	pclnErr  error

	sitesMu sync.Mutex
	sites   *siteIndex // sites.go; nil until used, and after ReleaseSites
}

// Open opens the ELF executable at path and reads its Go build info. Each
// cause of failure reads differently: a directory, a file that is not ELF
// or an ELF that is not a Go program (both wrap ErrNotGo), an ELF shorter than its
// headers say (ErrTruncated), one whose headers do not parse (ErrCorrupt),
// and one for an architecture other than amd64 or arm64
// (ErrUnsupportedArch).
func Open(path string) (*File, error) {
	osf, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	f, err := newFile(path, osf)
	if err != nil {
		osf.Close()
		return nil, err
	}
	return f, nil
}

func newFile(path string, osf *os.File) (*File, error) {
	ef, err := elf.NewFile(osf)
	if err != nil {
		return nil, badELF(path, osf, err)
	}
	if err := checkSize(path, osf, ef); err != nil {
		return nil, err
	}
	f := &File{path: path, osf: osf, elf: ef}
	switch {
	case ef.Class == elf.ELFCLASS64 && ef.Machine == elf.EM_X86_64:
		f.arch = "amd64"
	case ef.Class == elf.ELFCLASS64 && ef.Machine == elf.EM_AARCH64:
		f.arch = "arm64"
	default:
		return nil, fmt.Errorf("%s: %v %v: %w", path, ef.Class, ef.Machine, ErrUnsupportedArch)
	}

	bi, err := buildinfo.Read(osf)
	if err != nil {
		// A Go program always has a pclntab, even when its build info
		// cannot be read (toolchains older than Go 1.13).
		if _, perr := f.pclntab(); perr != nil {
			return nil, fmt.Errorf("%s: %w (no Go build info nor pclntab)", path, ErrNotGo)
		}
		f.goVer = f.runtimeBuildVersion()
		f.modules = map[string]string{}
		return f, nil
	}
	f.goVer = bi.GoVersion
	f.modules = modulesOf(bi)
	return f, nil
}

// Close closes the underlying file.
func (f *File) Close() error {
	return f.osf.Close()
}

// Path returns the path the file was opened with.
func (f *File) Path() string { return f.path }

// Arch returns the GOARCH of the executable: "amd64" or "arm64".
func (f *File) Arch() string { return f.arch }

// GoVersion returns the Go toolchain version that built the executable,
// such as "go1.26.8", or "" when it cannot be told.
func (f *File) GoVersion() string { return f.goVer }

// PIE reports whether the executable is position independent (ET_DYN), so
// that its addresses are relative to a load base chosen at run time.
func (f *File) PIE() bool { return f.elf.Type == elf.ET_DYN }

// HasSymtab reports whether the executable has a symbol table (false when
// built with -ldflags=-s).
func (f *File) HasSymtab() bool {
	s := f.elf.Section(".symtab")
	return s != nil && s.Type == elf.SHT_SYMTAB && s.Size > 0
}

// ELF returns the parsed ELF file, for callers that need more than this
// package offers. It is owned by f.
func (f *File) ELF() *elf.File { return f.elf }
