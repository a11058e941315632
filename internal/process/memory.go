package process

import (
	"errors"
	"fmt"
	"math"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WriteMemory writes b into the target's memory at addr with
// process_vm_writev, falling back to /proc/PID/mem when that is refused
// (EPERM, as under container seccomp profiles) or missing (ENOSYS). Neither
// needs bpf_probe_write_user, so both work under kernel lockdown. The caller
// needs ptrace access to the target.
func WriteMemory(pid int, addr uint64, b []byte) error {
	if err := withFallback(writeVM, writeProcMem, pid, addr, b); err != nil {
		return fmt.Errorf("writing %d bytes at %#x in process %d: %w", len(b), addr, pid, wrapExited(pid, err))
	}
	return nil
}

// ReadMemory fills b from the target's memory at addr with
// process_vm_readv, falling back to /proc/PID/mem on EPERM or ENOSYS.
func ReadMemory(pid int, addr uint64, b []byte) error {
	if err := withFallback(readVM, readProcMem, pid, addr, b); err != nil {
		return fmt.Errorf("reading %d bytes at %#x in process %d: %w", len(b), addr, pid, wrapExited(pid, err))
	}
	return nil
}

type transferFunc func(pid int, addr uint64, b []byte) error

// withFallback runs vm, then mem when vm was refused or is missing.
func withFallback(vm, mem transferFunc, pid int, addr uint64, b []byte) error {
	if len(b) == 0 {
		return nil
	}
	err := vm(pid, addr, b)
	if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.ENOSYS) {
		return err
	}
	if ferr := mem(pid, addr, b); ferr != nil {
		return fmt.Errorf("%w (after %w)", ferr, err)
	}
	return nil
}

type vmFunc func(pid int, local []unix.Iovec, remote []unix.RemoteIovec, flags uint) (int, error)

// transferVM moves b to or from addr, calling fn again after partial
// transfers (they stop at page boundaries).
func transferVM(fn vmFunc, name string, pid int, addr uint64, b []byte) error {
	for len(b) > 0 {
		local := []unix.Iovec{{Base: unsafe.SliceData(b)}}
		local[0].SetLen(len(b))
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
		n, err := fn(pid, local, remote, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if n <= 0 {
			return fmt.Errorf("%s: no progress at %#x: %w", name, addr, unix.EFAULT)
		}
		b, addr = b[n:], addr+uint64(n)
	}
	return nil
}

func writeVM(pid int, addr uint64, b []byte) error {
	return transferVM(unix.ProcessVMWritev, "process_vm_writev", pid, addr, b)
}

func readVM(pid int, addr uint64, b []byte) error {
	return transferVM(unix.ProcessVMReadv, "process_vm_readv", pid, addr, b)
}

func writeProcMem(pid int, addr uint64, b []byte) error {
	if addr > math.MaxInt64-uint64(len(b)) {
		return fmt.Errorf("writing /proc/%d/mem: address %#x out of range", pid, addr)
	}
	f, err := os.OpenFile(procPath(pid, "mem"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(b, int64(addr))
	return err
}

func readProcMem(pid int, addr uint64, b []byte) error {
	if addr > math.MaxInt64-uint64(len(b)) {
		return fmt.Errorf("reading /proc/%d/mem: address %#x out of range", pid, addr)
	}
	f, err := os.Open(procPath(pid, "mem"))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadAt(b, int64(addr))
	return err
}
