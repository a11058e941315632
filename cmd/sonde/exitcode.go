package main

import (
	"errors"
	"io/fs"
	"os/exec"
	"syscall"
)

// Exit codes for a program that could not be started, as shells use them.
const (
	exitCannotExecute = 126
	exitNotFound      = 127
	exitSignalBase    = 128 // plus the signal number, for a killed program
)

// exitCode maps how a program ended to the exit code sonde ends with: the
// program's own code, or 128+N when signal N killed it.
func exitCode(ws syscall.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return exitSignalBase + int(ws.Signal())
	}
	return exitError
}

// startFailureCode maps an error starting a program to an exit code: 127
// when it does not exist, 126 when it cannot be executed, else 1.
func startFailureCode(err error) int {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return exitNotFound
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.ENOEXEC):
		return exitCannotExecute
	}
	return exitError
}
