package process

import (
	"debug/elf"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

func TestLoadBias(t *testing.T) {
	for _, tc := range []struct {
		mode string
		pie  bool
	}{
		{"exe", false},
		{"pie", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			bin := fixture(t, tc.mode)
			f, err := elf.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if isPIE := f.Type == elf.ET_DYN; isPIE != tc.pie {
				t.Fatalf("fixture type %v, want PIE %v", f.Type, tc.pie)
			}
			x := symbol(t, f, "main.x")

			tg := startTarget(t, bin)
			for _, exe := range []string{"", bin} {
				bias, err := LoadBias(tg.pid(), exe)
				if err != nil {
					t.Fatal(err)
				}
				if got := x + bias; got != tg.addr {
					t.Errorf("LoadBias(%q) = %#x: main.x at %#x+bias = %#x, fixture says %#x", exe, bias, x, got, tg.addr)
				}
				if !tc.pie && bias != 0 {
					t.Errorf("non-PIE bias = %#x, want 0", bias)
				}
				if tc.pie && (bias == 0 || bias%uint64(os.Getpagesize()) != 0) {
					t.Errorf("PIE bias = %#x, want a non-zero page-aligned address", bias)
				}
			}
		})
	}
}

func TestLoadBiasNotMapped(t *testing.T) {
	tg := startTarget(t, fixture(t, "exe"))
	other := copyFixture(t, "exe")
	if _, err := LoadBias(tg.pid(), other); !errors.Is(err, ErrNotMapped) {
		t.Errorf("LoadBias of an unmapped file = %v, want ErrNotMapped", err)
	}
	tg.finish(t)
	tg.cmd.Wait()
	if _, err := LoadBias(tg.pid(), ""); !errors.Is(err, ErrExited) {
		t.Errorf("LoadBias of an exited process = %v, want ErrExited", err)
	}
}

func TestParseMapsLine(t *testing.T) {
	m, ok := parseMapsLine("56401cc17000-56401cc1c000 r-xp 00002000 fe:00 247766                     /usr/bin/sleep")
	want := mapping{start: 0x56401cc17000, off: 0x2000, dev: unix.Mkdev(0xfe, 0), ino: 247766}
	if !ok || m != want {
		t.Errorf("parseMapsLine = %+v, %v; want %+v", m, ok, want)
	}
	m, ok = parseMapsLine("7ffd1000-7ffd2000 r-xp 00000000 00:00 0                          [vdso]")
	if !ok || m.ino != 0 {
		t.Errorf("vdso line = %+v, %v", m, ok)
	}
	for _, bad := range []string{"", "zz-1 r-xp 0 fe:00 1", "1-2 r-xp 0 fe00 1", "1-2 r-xp 0 fe:00"} {
		if _, ok := parseMapsLine(bad); ok {
			t.Errorf("parseMapsLine(%q) accepted", bad)
		}
	}
}

func symbol(t *testing.T, f *elf.File, name string) uint64 {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("no symbol %s", name)
	return 0
}
