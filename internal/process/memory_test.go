package process

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadWriteMemory(t *testing.T) {
	for _, tc := range []struct {
		name        string
		read, write func(int, uint64, []byte) error
	}{
		{"public", ReadMemory, WriteMemory},
		{"process_vm", readVM, writeVM},
		{"proc_mem", readProcMem, writeProcMem},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTarget(t, fixture(t, "exe"))
			if tg.value != 42 {
				t.Fatalf("fixture starts with x = %d", tg.value)
			}
			buf := make([]byte, 8)
			if err := tc.read(tg.pid(), tg.addr, buf); err != nil {
				t.Fatal(err)
			}
			if got := int64(binary.NativeEndian.Uint64(buf)); got != 42 {
				t.Fatalf("read x = %d, want 42", got)
			}

			const want = 0x0123456789
			binary.NativeEndian.PutUint64(buf, want)
			if err := tc.write(tg.pid(), tg.addr, buf); err != nil {
				t.Fatal(err)
			}
			if got := tg.finish(t); got != strconv.Itoa(want) {
				t.Errorf("fixture printed %s after the write, want %d", got, want)
			}
		})
	}
}

func TestMemoryErrors(t *testing.T) {
	tg := startTarget(t, fixture(t, "exe"))
	buf := make([]byte, 8)
	if err := ReadMemory(tg.pid(), 0, buf); err == nil || errors.Is(err, ErrExited) {
		t.Errorf("ReadMemory at 0 = %v, want a non-ErrExited error", err)
	}
	if err := WriteMemory(tg.pid(), 8, buf); err == nil || errors.Is(err, ErrExited) {
		t.Errorf("WriteMemory at 8 = %v, want a non-ErrExited error", err)
	}
	if err := ReadMemory(tg.pid(), tg.addr, nil); err != nil {
		t.Errorf("empty read: %v", err)
	}

	tg.finish(t)
	tg.cmd.Wait()
	if err := ReadMemory(tg.pid(), tg.addr, buf); !errors.Is(err, ErrExited) {
		t.Errorf("ReadMemory of exited process = %v, want ErrExited", err)
	}
	if err := WriteMemory(tg.pid(), tg.addr, buf); !errors.Is(err, ErrExited) {
		t.Errorf("WriteMemory of exited process = %v, want ErrExited", err)
	}
	if _, err := ExePath(tg.pid()); !errors.Is(err, ErrExited) {
		t.Errorf("ExePath of exited process = %v, want ErrExited", err)
	}
}

func TestWithFallback(t *testing.T) {
	fails := func(err error) transferFunc {
		return func(int, uint64, []byte) error { return err }
	}
	var memCalls int
	mem := func(int, uint64, []byte) error { memCalls++; return nil }
	buf := []byte{1}
	for _, tc := range []struct {
		vmErr    error
		fallback bool
	}{
		{nil, false},
		{unix.EFAULT, false},
		{unix.ESRCH, false},
		{fmt.Errorf("process_vm_writev: %w", unix.EPERM), true},
		{unix.ENOSYS, true},
	} {
		memCalls = 0
		err := withFallback(fails(tc.vmErr), mem, 1, 0, buf)
		if tc.fallback {
			if err != nil || memCalls != 1 {
				t.Errorf("vm error %v: err %v, %d fallback calls; want the fallback", tc.vmErr, err, memCalls)
			}
		} else if !errors.Is(err, tc.vmErr) || memCalls != 0 {
			t.Errorf("vm error %v: err %v, %d fallback calls; want no fallback", tc.vmErr, err, memCalls)
		}
	}

	// Both fail: both causes are kept.
	err := withFallback(fails(unix.EPERM), fails(unix.EACCES), 1, 0, buf)
	if !errors.Is(err, unix.EPERM) || !errors.Is(err, unix.EACCES) {
		t.Errorf("both failing: %v", err)
	}
	if err := withFallback(fails(unix.EPERM), fails(unix.EACCES), 1, 0, nil); err != nil {
		t.Errorf("empty buffer: %v", err)
	}
}
