package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

// procState returns the state letter of /proc/PID/stat.
func procState(t *testing.T, pid int) byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndexByte(b, ')')
	return b[i+2]
}

func TestLaunchStopsBeforeFirstInstruction(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "ran")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHelperMark+"="+mark)
	attached := false
	err := launch(cmd, func(pid int) {
		attached = true
		if pid != cmd.Process.Pid {
			t.Errorf("attach got pid %d, want %d", pid, cmd.Process.Pid)
		}
		if st := procState(t, pid); st != 't' {
			t.Errorf("program state %q during attach, want 't' (traced stop)", st)
		}
		if _, err := os.Stat(mark); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("program ran before attach: %v", err)
		}
	})
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	if !attached {
		t.Fatal("attach was not called")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("wait: %v", err)
	}
	if got := exitCode(ee.Sys().(syscall.WaitStatus)); got != helperExit {
		t.Errorf("exit code %d, want %d", got, helperExit)
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("program did not run after attach: %v", err)
	}
}

func TestLaunchMissingProgram(t *testing.T) {
	cmd := exec.Command(filepath.Join(t.TempDir(), "missing"))
	err := launch(cmd, func(int) { t.Error("attach called for a program that did not start") })
	if got := startFailureCode(err); got != exitNotFound {
		t.Errorf("launch error %v maps to %d, want %d", err, got, exitNotFound)
	}
}

func TestLaunchKilledWhileStopped(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), envHelperMark+"="+filepath.Join(t.TempDir(), "ran"))
	err := launch(cmd, func(pid int) { syscall.Kill(pid, syscall.SIGKILL) })
	var early *exitedEarlyError
	if !errors.As(err, &early) {
		t.Fatalf("launch = %v, want an exitedEarlyError", err)
	}
	if got := exitCode(early.status); got != 128+int(syscall.SIGKILL) {
		t.Errorf("exit code %d, want %d", got, 128+int(syscall.SIGKILL))
	}
}
