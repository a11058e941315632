package process

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestMapArena maps an arena into a running Go program and into a C
// program sleeping in a system call: the memory is there, readable and
// writable from outside, a second MapArena finds it, and both programs
// carry on (the interrupted system calls restart), while the Go program's
// parent waits for it.
func TestMapArena(t *testing.T) {
	testenv.RequireRoot(t)
	if runtime.GOARCH != "amd64" {
		t.Skip(ErrArenaUnsupported)
	}
	tg := startTarget(t, fixture(t, "pie"))
	// Its parent waits for it meanwhile, as sonde run does: that wait must
	// not take the ptrace stops.
	waited := make(chan error, 1)
	go func() {
		_, err := tg.cmd.Process.Wait()
		waited <- err
	}()
	addr := ArenaAddr(ArenaKafka)
	checkArena(t, tg.pid(), addr)
	if got := tg.finish(t); got != "42" {
		t.Errorf("the target printed %q after the arena was mapped, want 42", got)
	}
	if err := <-waited; err != nil {
		t.Errorf("waiting for the target: %v", err)
	}

	sleep := exec.Command("sleep", "1")
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep command:", err)
	}
	start := time.Now()
	time.Sleep(100 * time.Millisecond)
	checkArena(t, sleep.Process.Pid, ArenaAddr(ArenaGRPC))
	if err := sleep.Wait(); err != nil {
		t.Errorf("sleep after the arena was mapped: %v", err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("sleep 1 returned after %v: its nanosleep was not resumed", d)
	}
}

func checkArena(t *testing.T, pid int, addr uint64) {
	t.Helper()
	exists, err := MapArena(pid, addr, 1<<20)
	if err != nil || exists {
		t.Fatalf("MapArena: exists %v, %v", exists, err)
	}
	zero := make([]byte, 64)
	if err := ReadMemory(pid, addr+(1<<20)-64, zero); err != nil || !bytes.Equal(zero, make([]byte, 64)) {
		t.Fatalf("reading the arena's end: %v %x", err, zero)
	}
	if err := ReadMemory(pid, addr+(1<<20), zero); err == nil {
		t.Errorf("memory past the arena's end is readable")
	}
	want := []byte("sonde arena test")
	if err := WriteMemory(pid, addr+100, want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if err := ReadMemory(pid, addr+100, got); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %q, %v", got, err)
	}
	exists, err = MapArena(pid, addr, 1<<20)
	if err != nil || !exists {
		t.Errorf("second MapArena: exists %v, %v; want an existing arena", exists, err)
	}
}

// TestMapArenaTraced: a program that this process started under ptrace
// and holds stopped before its first instruction (as sonde run does) gets
// its arena from the tracing thread, then runs normally.
func TestMapArenaTraced(t *testing.T) {
	testenv.RequireRoot(t)
	if runtime.GOARCH != "amd64" {
		t.Skip(ErrArenaUnsupported)
	}
	cmd := exec.Command(fixture(t, "exe"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Ptrace: true}
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	addr := ArenaAddr(ArenaGRPC)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			errc <- err
			return
		}
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(cmd.Process.Pid, &ws, 0, nil); err != nil || !ws.Stopped() {
			errc <- fmt.Errorf("waiting for the exec stop: %v %v", ws, err)
			return
		}
		exists, err := MapArena(cmd.Process.Pid, addr, 1<<20)
		if err == nil && exists {
			err = errors.New("an arena existed already")
		}
		if err == nil {
			err = WriteMemory(cmd.Process.Pid, addr+(1<<20)-8, []byte("12345678"))
		}
		if derr := syscall.PtraceDetach(cmd.Process.Pid); err == nil {
			err = derr
		}
		errc <- err
	}()
	if err := <-errc; err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	defer cmd.Wait()
	out := bufio.NewReader(stdout)
	if _, err := out.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 8)
	if err := ReadMemory(cmd.Process.Pid, addr+(1<<20)-8, got); err != nil || string(got) != "12345678" {
		t.Errorf("arena end reads %q, %v", got, err)
	}
	io.WriteString(stdin, "\n")
	if l, _ := out.ReadString('\n'); strings.TrimSpace(l) != "42" {
		t.Errorf("the target printed %q, want 42", l)
	}
}
