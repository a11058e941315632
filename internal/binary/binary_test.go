package binary

import (
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func TestOpenHTTP(t *testing.T) {
	for _, tc := range []struct {
		fx        *fixture
		arch      string
		pie       bool
		symtab    bool
		goVersion string
	}{
		{fxHTTP, "amd64", false, true, runtime.Version()},
		{fxHTTPStripped, "amd64", false, false, runtime.Version()},
		{fxPIE, "amd64", true, true, runtime.Version()},
		{fxPIEStripped, "amd64", true, false, runtime.Version()},
		{fxARM64Stripped, "arm64", false, false, runtime.Version()},
		{fxGo122Stripped, "amd64", false, false, "go1.22.12"},
	} {
		t.Run(tc.fx.name, func(t *testing.T) {
			f := tc.fx.open(t)
			if want := tc.fx.build(t); f.Path() != want {
				t.Errorf("Path() = %q, want %q", f.Path(), want)
			}
			if f.Arch() != tc.arch {
				t.Errorf("Arch() = %q, want %q", f.Arch(), tc.arch)
			}
			if f.PIE() != tc.pie {
				t.Errorf("PIE() = %v, want %v", f.PIE(), tc.pie)
			}
			if f.HasSymtab() != tc.symtab {
				t.Errorf("HasSymtab() = %v, want %v", f.HasSymtab(), tc.symtab)
			}
			if f.GoVersion() != tc.goVersion {
				t.Errorf("GoVersion() = %q, want %q", f.GoVersion(), tc.goVersion)
			}
			if v, ok := f.Module("std"); !ok || v != tc.goVersion {
				t.Errorf(`Module("std") = %q, %v; want %q, true`, v, ok, tc.goVersion)
			}
			if v, ok := f.Module("github.com/go-logr/logr"); !ok || v != "v1.4.4" {
				t.Errorf("Module(logr) = %q, %v; want v1.4.4, true", v, ok)
			}
			if _, ok := f.Module("github.com/lib/pq"); ok {
				t.Error("Module(lib/pq) found in a program that does not use it")
			}
			mods := f.Modules()
			if mods["example.com/httpapp"] != "(devel)" || mods["github.com/go-logr/logr"] != "v1.4.4" || len(mods) != 2 {
				t.Errorf("Modules() = %v, want the main module (devel) and logr v1.4.4", mods)
			}
			mods["github.com/go-logr/logr"] = "changed"
			if v, _ := f.Module("github.com/go-logr/logr"); v != "v1.4.4" {
				t.Error("Modules() returned the File's own map")
			}
		})
	}
}

func TestOpenNoModuleInfo(t *testing.T) {
	f := fxTrivialNoModule.open(t)
	if f.GoVersion() != runtime.Version() {
		t.Errorf("GoVersion() = %q, want %q", f.GoVersion(), runtime.Version())
	}
	if mods := f.Modules(); len(mods) != 0 {
		t.Errorf("Modules() = %v, want none", mods)
	}
	if _, err := f.Func("main.main"); err != nil {
		t.Errorf("Func(main.main): %v", err)
	}
}

func TestOpenNotGo(t *testing.T) {
	text := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(text, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(text)
	if !errors.Is(err, ErrNotGo) || !strings.Contains(err.Error(), "not an ELF file") || !strings.Contains(err.Error(), text) {
		t.Errorf("Open(text file) = %v, want ErrNotGo naming the path and saying it is not ELF", err)
	}

	_, err = os.Stat("/bin/true")
	testenv.Require(t, err == nil, "/bin/true not present: %v", err)
	_, err = Open("/bin/true")
	if !errors.Is(err, ErrNotGo) || !strings.Contains(err.Error(), "/bin/true") {
		t.Errorf("Open(/bin/true) = %v, want ErrNotGo naming the path", err)
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := Open(filepath.Join(t.TempDir(), "absent"))
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotGo) {
		t.Errorf("Open(absent) = %v, want fs.ErrNotExist", err)
	}
}

func TestModulesOf(t *testing.T) {
	bi := &debug.BuildInfo{
		Main: debug.Module{Path: "example.com/app", Version: "v1.2.3"},
		Deps: []*debug.Module{
			{Path: "example.com/plain", Version: "v0.1.0"},
			{Path: "example.com/forked", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1-fix"}},
			{Path: "example.com/local", Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "../local"}},
		},
	}
	want := map[string]string{
		"example.com/app":    "v1.2.3",
		"example.com/plain":  "v0.1.0",
		"example.com/forked": "v1.0.1-fix",
		"example.com/local":  "v0.0.0-00010101000000-000000000000",
	}
	got := modulesOf(bi)
	if len(got) != len(want) {
		t.Errorf("modulesOf = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("modulesOf[%q] = %q, want %q", k, got[k], v)
		}
	}
}

func TestDWARF(t *testing.T) {
	d, err := fxHTTP.open(t).DWARF()
	if err != nil {
		t.Fatalf("DWARF(): %v", err)
	}
	r := d.Reader()
	if e, err := r.Next(); err != nil || e == nil {
		t.Errorf("reading first DWARF entry: %v, %v", e, err)
	}

	_, err = fxHTTPStripped.open(t).DWARF()
	if !errors.Is(err, ErrNoDWARF) {
		t.Errorf("DWARF() of a -w binary = %v, want ErrNoDWARF", err)
	}
}

// TestOpenCauses: each reason a file cannot be opened reads differently.
func TestOpenCauses(t *testing.T) {
	good := fxHTTP.build(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	patched := func(name string, off int, b ...byte) string {
		c := slices.Clone(data)
		copy(c[off:], b)
		return write(name, c)
	}
	tests := []struct {
		path string
		is   error
		not  error
		msg  string
	}{
		{dir, nil, ErrNotGo, dir + ": is a directory, not an executable"},
		{write("text", []byte("#!/bin/sh\necho hi\n")), ErrNotGo, nil, ": not a Go executable (not an ELF file)"},
		{write("head", data[:40]), ErrTruncated, ErrNotGo, ": truncated ELF file: 40 bytes, shorter than an ELF header"},
		{write("third", data[:len(data)/3]), ErrTruncated, ErrNotGo, fmt.Sprintf(": truncated ELF file: %d bytes of the %d its headers describe (an incomplete copy?)", len(data)/3, len(data))},
		{write("most", data[:len(data)-100]), ErrTruncated, ErrNotGo, fmt.Sprintf(": truncated ELF file: %d bytes of the %d its headers describe", len(data)-100, len(data))},
		{patched("shoff", 0x28, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0), ErrCorrupt, ErrNotGo, ": corrupted ELF file: section headers at byte 0xffffffff are past the end of the file"},
		{patched("class", 4, 7), ErrCorrupt, ErrNotGo, ": corrupted ELF file: unknown ELF class"},
	}
	for _, tt := range tests {
		_, err := Open(tt.path)
		if err == nil {
			t.Errorf("Open(%s) succeeded", tt.path)
			continue
		}
		if tt.is != nil && !errors.Is(err, tt.is) {
			t.Errorf("Open(%s) = %v, want %v", tt.path, err, tt.is)
		}
		if tt.not != nil && errors.Is(err, tt.not) {
			t.Errorf("Open(%s) = %v, must not be %v", tt.path, err, tt.not)
		}
		if !strings.HasPrefix(err.Error(), tt.path+":") || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("Open(%s) = %q, want it to name the file and say %q", tt.path, err, tt.msg)
		}
	}
}

// TestDWARFCorrupted: DWARF that cannot be read is not reported as
// missing.
func TestDWARFCorrupted(t *testing.T) {
	good := fxHTTP.build(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(good)
	if err != nil {
		t.Fatal(err)
	}
	s := ef.Section(".debug_info")
	ef.Close()
	if s == nil {
		t.Fatal("fixture has no .debug_info")
	}
	for i := range 64 {
		data[int(s.Offset)+32+i] = 0xff
	}
	bad := filepath.Join(t.TempDir(), "bad-dwarf")
	if err := os.WriteFile(bad, data, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bad)
	if err != nil {
		t.Fatalf("Open: %v (the ELF itself is intact)", err)
	}
	defer f.Close()
	_, err = f.DWARF()
	if err == nil || errors.Is(err, ErrNoDWARF) || !strings.Contains(err.Error(), "reading DWARF of "+bad) {
		t.Errorf("DWARF() of corrupted DWARF = %v, want a read error, not ErrNoDWARF", err)
	}
}
