package main

import (
	"fmt"
	"io/fs"
	"os/exec"
	"syscall"
	"testing"
)

// Linux wait status words, as wait(2) encodes them.
func exited(code int) syscall.WaitStatus           { return syscall.WaitStatus(code << 8) }
func killed(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }
func dumped(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) | 0x80 }

func TestExitCode(t *testing.T) {
	tests := []struct {
		ws   syscall.WaitStatus
		want int
	}{
		{exited(0), 0},
		{exited(3), 3},
		{exited(255), 255},
		{killed(syscall.SIGKILL), 137},
		{killed(syscall.SIGTERM), 143},
		{killed(syscall.SIGINT), 130},
		{dumped(syscall.SIGQUIT), 131},
		{dumped(syscall.SIGSEGV), 139},
	}
	for _, tt := range tests {
		if got := exitCode(tt.ws); got != tt.want {
			t.Errorf("exitCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestStartFailureCode(t *testing.T) {
	_, lookErr := exec.LookPath("sonde-no-such-program")
	tests := []struct {
		err  error
		want int
	}{
		{lookErr, 127},
		{&fs.PathError{Op: "fork/exec", Path: "./app", Err: syscall.ENOENT}, 127},
		{&fs.PathError{Op: "fork/exec", Path: "./app", Err: syscall.EACCES}, 126},
		{&fs.PathError{Op: "fork/exec", Path: "./app", Err: syscall.ENOEXEC}, 126},
		{fmt.Errorf("something else"), 1},
	}
	for _, tt := range tests {
		if got := startFailureCode(tt.err); got != tt.want {
			t.Errorf("startFailureCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func TestShouldForward(t *testing.T) {
	for _, sig := range forwarded {
		if !shouldForward(sig, false) {
			t.Errorf("%v not forwarded without a terminal", sig)
		}
	}
	// In the terminal's foreground group, the terminal already sent
	// SIGINT and SIGQUIT to the program.
	for sig, want := range map[syscall.Signal]bool{
		syscall.SIGINT: false, syscall.SIGQUIT: false, syscall.SIGTERM: true, syscall.SIGHUP: true,
	} {
		if got := shouldForward(sig, true); got != want {
			t.Errorf("shouldForward(%v, foreground) = %v, want %v", sig, got, want)
		}
	}
}
