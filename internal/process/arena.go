package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Scratch memory in a target ("arenas"): anonymous read-write mappings
// that Sonde adds to a running target by making one of its threads run an
// mmap system call (ptrace), for probes that write data into the target
// with bpf_probe_write_user and need memory that outlives the call they
// hook (a header value the target sends later). The Go runtime neither
// knows nor scans this memory: a probe may point the target's values at
// it, never copy Go pointers into it. An arena is never unmapped, so a
// value pointing at it stays readable for the target's life.
//
// Each arena is at a fixed address (ArenaAddr), so that BPF programs take
// it as a constant set at load while the mapping is made after attach; a
// probe writes a magic value at its start once mapped and its BPF checks
// it before any write, so an arena that could not be mapped is never
// written to.

// ArenaSlotSize is the address space each arena slot spans.
const ArenaSlotSize = 256 << 20

// arenaBase is where the slots start: below the Go heap's first hint
// (0xc000000000) and within a 39-bit address space.
const arenaBase = 0x2f_0000_0000

// Arena slots taken by the probe packages (one each).
const (
	ArenaGRPC  = 0 // probes/grpc
	ArenaKafka = 1 // probes/kafkago
)

// ArenaAddr returns the address of arena slot n.
func ArenaAddr(n int) uint64 { return arenaBase + uint64(n)*ArenaSlotSize }

// ErrArenaUnsupported reports an architecture the arena mapping is not
// implemented for.
var ErrArenaUnsupported = errors.New("mapping scratch memory into a target is implemented for amd64 only")

// MapArena maps size bytes (at most ArenaSlotSize), read-write, zeroed and
// resident (every page touched once), at addr in the target pid, unless a mapping starts there already (an
// earlier MapArena of this Sonde or another): then it returns
// exists=true and changes nothing. The caller needs ptrace access to pid
// (root, or the target's parent under Yama scope 1).
func MapArena(pid int, addr, size uint64) (exists bool, err error) {
	if size == 0 || size > ArenaSlotSize {
		return false, fmt.Errorf("mapping an arena of %d bytes: size out of range", size)
	}
	if m, err := mappedAt(pid, addr); err != nil {
		return false, err
	} else if m {
		return true, nil
	}
	if runtime.GOARCH != "amd64" {
		return false, ErrArenaUnsupported
	}
	sc, err := syscallSite(pid)
	if err != nil {
		return false, err
	}
	if tracedByUs(pid) {
		// Stopped under this process's ptrace already (sonde run holds
		// a program so before its first instruction): the caller is on
		// the tracing thread, where the requests must come from.
		got, err := mmapStopped(pid, sc, addr, size, &stopState{attached: true})
		if err != nil {
			return false, fmt.Errorf("mapping an arena in process %d (traced): %w", pid, wrapExited(pid, err))
		}
		return false, faultIn(pid, addr, size, got)
	}
	// ptrace requests must come from the thread that attached.
	type result struct {
		got uint64
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		got, err := remoteMmap(pid, sc, addr, size)
		ch <- result{got, err}
	}()
	r := <-ch
	if r.err != nil {
		return false, fmt.Errorf("mapping an arena in process %d: %w", pid, wrapExited(pid, r.err))
	}
	return false, faultIn(pid, addr, size, r.got)
}

// faultIn checks that the mapping landed at addr and faults every page of
// it in: bpf_probe_write_user cannot (page faults are off in BPF), so a
// write to a page never touched would fail.
func faultIn(pid int, addr, size, got uint64) error {
	if got != addr {
		// A kernel older than 4.17 takes MAP_FIXED_NOREPLACE as a hint.
		return fmt.Errorf("mapping an arena in process %d: mapped at %#x, not %#x", pid, got, addr)
	}
	zero := make([]byte, min(size, 1<<20))
	for off := uint64(0); off < size; off += uint64(len(zero)) {
		if err := WriteMemory(pid, addr+off, zero[:min(uint64(len(zero)), size-off)]); err != nil {
			return fmt.Errorf("faulting the arena in: %w", err)
		}
	}
	return nil
}

// tracedByUs reports whether pid is traced by a thread of this process.
func tracedByUs(pid int) bool {
	b, err := os.ReadFile(procPath(pid, "status"))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "TracerPid:"); ok {
			// The tracer is a thread (its ID): one of ours?
			tid, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || tid == 0 {
				return false
			}
			_, err = os.Stat(fmt.Sprintf("/proc/self/task/%d", tid))
			return err == nil
		}
	}
	return false
}

// mappedAt reports whether a mapping of pid contains addr.
func mappedAt(pid int, addr uint64) (bool, error) {
	f, err := os.Open(procPath(pid, "maps"))
	if err != nil {
		return false, wrapExited(pid, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		lo, hi, ok := mapRange(s.Text())
		if ok && addr >= lo && addr < hi {
			return true, nil
		}
	}
	return false, s.Err()
}

func mapRange(line string) (lo, hi uint64, ok bool) {
	r, _, _ := strings.Cut(line, " ")
	a, b, ok := strings.Cut(r, "-")
	if !ok {
		return 0, 0, false
	}
	lo, err1 := strconv.ParseUint(a, 16, 64)
	hi, err2 := strconv.ParseUint(b, 16, 64)
	return lo, hi, err1 == nil && err2 == nil
}

// syscallSite returns the address of a syscall instruction (0f 05) in an
// executable mapping of pid. Any such two bytes serve: the thread runs
// that one instruction only.
func syscallSite(pid int) (uint64, error) {
	f, err := os.Open(procPath(pid, "maps"))
	if err != nil {
		return 0, wrapExited(pid, err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 || !strings.Contains(fields[1], "x") {
			continue
		}
		lo, hi, ok := mapRange(s.Text())
		if !ok || hi <= lo {
			continue
		}
		n := min(hi-lo, 16<<20)
		buf := make([]byte, n)
		if err := ReadMemory(pid, lo, buf); err != nil {
			continue
		}
		if i := bytes.Index(buf, []byte{0x0f, 0x05}); i >= 0 {
			return lo + uint64(i), nil
		}
	}
	return 0, fmt.Errorf("no syscall instruction in the executable mappings of process %d", pid)
}

// remoteMmap stops one thread of pid (not the main one), makes it run
// mmap(addr, size, RW, private|anonymous|fixed-noreplace) at the syscall
// instruction sc, restores its registers and lets it go. A system call the
// thread was in is restarted as after any signal stop.
func remoteMmap(pid int, sc, addr, size uint64) (uint64, error) {
	tid := workerThread(pid)
	if err := unix.PtraceSeize(tid); err != nil {
		return 0, fmt.Errorf("ptrace seize: %w", err)
	}
	attached := true
	pending := 0 // a signal that arrived while stopped, delivered at detach
	defer func() {
		if attached {
			_ = unix.PtraceDetach(tid)
			if pending != 0 {
				_ = unix.Tgkill(pid, tid, unix.Signal(pending))
			}
		}
	}()
	if err := unix.PtraceInterrupt(tid); err != nil {
		return 0, fmt.Errorf("ptrace interrupt: %w", err)
	}
	// Wait for the interrupt's stop; a signal delivered meanwhile is
	// suppressed now and sent again after the detach.
	for {
		ws, err := waitThread(tid)
		if err != nil {
			return 0, fmt.Errorf("waiting for the thread to stop: %w", err)
		}
		if ws.Exited() || ws.Signaled() {
			attached = false
			return 0, ErrExited
		}
		if !ws.Stopped() {
			continue
		}
		if ws.TrapCause() == unix.PTRACE_EVENT_STOP {
			break
		}
		if sig := ws.StopSignal(); sig != unix.SIGTRAP && sig != unix.SIGSTOP {
			pending = int(sig)
		}
		if err := unix.PtraceCont(tid, 0); err != nil {
			return 0, fmt.Errorf("ptrace cont: %w", err)
		}
		if err := unix.PtraceInterrupt(tid); err != nil {
			return 0, fmt.Errorf("ptrace interrupt: %w", err)
		}
	}
	st := stopState{attached: true}
	got, err := mmapStopped(tid, sc, addr, size, &st)
	attached = st.attached
	if st.pending != 0 {
		pending = st.pending
	}
	return got, err
}

// stopState is what mmapStopped learns about the thread: whether it is
// still there, and a signal it got meanwhile (not delivered).
type stopState struct {
	attached bool
	pending  int
}

// mmapStopped runs the mmap on the thread tid, which this thread traces
// and which is in a ptrace stop, and leaves it stopped with its registers
// as they were.
func mmapStopped(tid int, sc, addr, size uint64, st *stopState) (uint64, error) {
	var saved regs
	if err := getRegs(tid, &saved); err != nil {
		return 0, fmt.Errorf("ptrace getregs: %w", err)
	}
	call := saved
	call.setSyscall(sc, unix.SYS_MMAP, addr, size, unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED_NOREPLACE, ^uint64(0), 0)
	if err := setRegs(tid, &call); err != nil {
		return 0, fmt.Errorf("ptrace setregs: %w", err)
	}
	restore := func() error {
		if err := setRegs(tid, &saved); err != nil {
			return fmt.Errorf("ptrace setregs (restore): %w", err)
		}
		return nil
	}
	for stepped := false; !stepped; {
		if err := unix.PtraceSingleStep(tid); err != nil {
			_ = restore()
			return 0, fmt.Errorf("ptrace singlestep: %w", err)
		}
		ws, err := waitThread(tid)
		if err != nil {
			return 0, fmt.Errorf("waiting for the system call: %w", err)
		}
		if ws.Exited() || ws.Signaled() {
			st.attached = false
			return 0, ErrExited
		}
		if !ws.Stopped() {
			continue
		}
		if sig := ws.StopSignal(); sig == unix.SIGTRAP && ws.TrapCause() <= 0 {
			stepped = true
		} else if sig != unix.SIGTRAP && sig != unix.SIGSTOP {
			st.pending = int(sig) // not delivered: the step is retried
		}
	}
	var after regs
	if err := getRegs(tid, &after); err != nil {
		_ = restore()
		return 0, fmt.Errorf("ptrace getregs: %w", err)
	}
	if err := restore(); err != nil {
		return 0, err
	}
	if !after.stepped(sc) {
		return 0, fmt.Errorf("the thread did not run the system call (pc %#x)", after.pc())
	}
	ret := after.ret()
	if ret > ^uint64(4095) {
		return 0, fmt.Errorf("mmap in the target: %w", unix.Errno(-int64(ret)))
	}
	return ret, nil
}

// workerThread returns a thread of pid other than its main one, else the
// main one. A process's parent may be waiting for it (sonde run, a test)
// and would collect the ptrace stops of the main thread, which its wait
// matches; another thread's stops go to waits for that thread only.
func workerThread(pid int) int {
	ents, err := os.ReadDir(procPath(pid, "task"))
	if err != nil {
		return pid
	}
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil && tid != pid {
			return tid
		}
	}
	return pid
}

// waitThread waits, at most 5 seconds, for a state change of the traced
// thread tid.
func waitThread(tid int) (unix.WaitStatus, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var ws unix.WaitStatus
		got, err := unix.Wait4(tid, &ws, unix.WALL|unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if got == tid {
			return ws, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("thread %d: no stop within 5s", tid)
		}
		time.Sleep(time.Millisecond)
	}
}

// ReadyArena maps the arena of size bytes at addr into pid (or finds the
// one an earlier Sonde mapped there), and in a new one writes key at
// keyOff and then magic at its start, which marks it ready for the BPF
// programs. An existing mapping without magic is refused.
func ReadyArena(pid int, addr, size uint64, magic [16]byte, keyOff uint64, key string) error {
	exists, err := MapArena(pid, addr, size)
	if err != nil {
		return err
	}
	if exists {
		var m [16]byte
		if err := ReadMemory(pid, addr, m[:]); err != nil {
			return err
		}
		if m != magic {
			return fmt.Errorf("another mapping is at %#x", addr)
		}
		return nil
	}
	if err := WriteMemory(pid, addr+keyOff, []byte(key)); err != nil {
		return err
	}
	return WriteMemory(pid, addr, magic[:])
}
