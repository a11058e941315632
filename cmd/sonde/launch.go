package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// exitedEarlyError reports a program that ended before it could be let run
// (killed while stopped, for instance).
type exitedEarlyError struct {
	status syscall.WaitStatus
}

func (e *exitedEarlyError) Error() string {
	return fmt.Sprintf("program ended before its first instruction (exit code %d)", exitCode(e.status))
}

// launch starts cmd stopped before its first instruction, calls attach with
// its PID while it is stopped, then lets it run. The program runs whatever
// attach did; attach reports its own failures. On success the caller owns
// cmd and must Wait for it.
//
// The program is started under ptrace (PTRACE_TRACEME): the kernel stops it
// with SIGTRAP once execve has loaded it, before any of its instructions
// run, and PTRACE_DETACH lets it go. Ptrace requests must come from the
// thread that started the program, so all of it happens on one goroutine
// locked to its thread.
func launch(cmd *exec.Cmd, attach func(pid int)) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		err := startAttachDetach(cmd, attach)
		var early *exitedEarlyError
		if err == nil || errors.As(err, &early) || cmd.Process == nil {
			// Nothing is traced by this thread any more. Otherwise the
			// goroutine ends locked and the thread exits with it, which
			// detaches whatever it still traces.
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func startAttachDetach(cmd *exec.Cmd, attach func(pid int)) error {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Ptrace = true
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	ws, err := waitStopped(pid)
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return err
	}
	if !ws.Stopped() {
		cmd.Wait() // releases cmd's resources; the status is already reaped
		return &exitedEarlyError{status: ws}
	}
	attach(pid)
	if err := syscall.PtraceDetach(pid); err != nil {
		// Most likely killed while stopped: report how it ended.
		cmd.Process.Kill()
		cmd.Wait()
		if cmd.ProcessState != nil {
			if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
				return &exitedEarlyError{status: ws}
			}
		}
		return fmt.Errorf("letting pid %d run (ptrace detach): %w", pid, err)
	}
	return nil
}

// waitStopped waits for the traced child pid to stop at its execve
// (SIGTRAP) or to end. A signal that arrives before the execve stops the
// child too: it is delivered, and the wait goes on.
func waitStopped(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return ws, fmt.Errorf("waiting for pid %d to stop: %w", pid, os.NewSyscallError("wait4", err))
		}
		if !ws.Stopped() || ws.StopSignal() == syscall.SIGTRAP {
			return ws, nil
		}
		if err := syscall.PtraceCont(pid, int(ws.StopSignal())); err != nil {
			return ws, fmt.Errorf("passing %v to pid %d: %w", ws.StopSignal(), pid, err)
		}
	}
}
