package stepbench

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"
)

// hot is the function every step's program is attached to.
//
//go:noinline
func hot(i int) int { return i*3 + 1 }

var sink int

func BenchmarkSteps(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root: attaches uprobes to the test binary")
	}
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Fatalf("enabling BPF stats: %v", err)
	}
	defer stats.Close()
	spec, err := loadSteps()
	if err != nil {
		b.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if err != nil {
		b.Fatal(err)
	}
	defer coll.Close()
	// Drain the ring so that outputs keep succeeding and the wakeup
	// steps really wake a reader.
	rd, err := ringbuf.NewReader(coll.Maps["ring"])
	if err != nil {
		b.Fatal(err)
	}
	defer rd.Close()
	go func() {
		var rec ringbuf.Record
		for {
			rd.SetDeadline(time.Now().Add(5 * time.Millisecond))
			if err := rd.ReadInto(&rec); errors.Is(err, ringbuf.ErrClosed) {
				return
			}
		}
	}()
	ex, err := link.OpenExecutable("/proc/self/exe")
	if err != nil {
		b.Fatal(err)
	}
	off, err := fileOffset(reflect.ValueOf(hot).Pointer())
	if err != nil {
		b.Fatal(err)
	}
	for _, name := range []string{
		"empty", "ktime", "prandom", "read16", "read256", "read2048", "memset2048",
		"hash_small_lookup", "hash_small_update", "hash_small_delete", "hash_big_update",
		"lru_update", "lru_percpu_update",
		"ringbuf_query", "ringbuf_nowakeup", "ringbuf_wakeup", "ringbuf_reserve2048",
	} {
		prog := coll.Programs[name]
		b.Run(name, func(b *testing.B) {
			l, err := ex.Uprobe("", prog, &link.UprobeOptions{Address: off, PID: os.Getpid()})
			if err != nil {
				b.Fatalf("attaching %s: %v", name, err)
			}
			defer l.Close()
			s0, err := prog.Stats()
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sink += hot(i)
			}
			b.StopTimer()
			s1, err := prog.Stats()
			if err != nil {
				b.Fatal(err)
			}
			runs := s1.RunCount - s0.RunCount
			if runs == 0 {
				b.Fatalf("%s never ran", name)
			}
			b.ReportMetric(float64((s1.Runtime-s0.Runtime).Nanoseconds())/float64(runs), "bpf-ns/run")
		})
	}
}

// fileOffset converts the run-time address of a function of this
// (non-PIE) test binary into its offset in the executable file: go test
// links without a symbol table.
func fileOffset(addr uintptr) (uint64, error) {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC {
		return 0, fmt.Errorf("test binary is %v, want a non-PIE executable", f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && uint64(addr) >= p.Vaddr && uint64(addr) < p.Vaddr+p.Filesz {
			return uint64(addr) - p.Vaddr + p.Off, nil
		}
	}
	return 0, fmt.Errorf("address %#x is in no executable segment", addr)
}
