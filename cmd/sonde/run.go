package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto"
	"github.com/sonde-go/auto/internal/binary"
)

// forwarded are the signals `sonde run` passes on to the program.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// runProgram is `sonde run`: it starts argv stopped, instruments it, lets
// it run with sonde's stdin, stdout and stderr, passes signals on, and
// returns the program's exit code once the spans are flushed. When the
// instrumentation fails the program still runs, uninstrumented.
func runProgram(argv []string, verbose bool, stderr io.Writer) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr

	// Signals that arrive while the program is stopped wait in the
	// channel and are passed on once it runs.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)

	opts := append([]auto.InstrumentationOption{auto.WithEnv()}, loggerOptions(verbose, stderr)...)
	var sess *session
	err := launch(cmd, func(pid int) {
		var err error
		sess, err = instrument(pid, opts)
		if err != nil {
			fmt.Fprintf(stderr, "sonde: running %s uninstrumented: %s\n", argv[0], uninstrumentedReason(err))
		}
	})
	if err != nil {
		if sess != nil {
			sess.stop()
		}
		var early *exitedEarlyError
		if errors.As(err, &early) {
			fmt.Fprintf(stderr, "sonde: %s: %v\n", argv[0], err)
			return exitCode(early.status)
		}
		fmt.Fprintf(stderr, "sonde: starting %s: %v\n", argv[0], err)
		return startFailureCode(err)
	}

	waitc := make(chan error, 1)
	go func() { waitc <- cmd.Wait() }()
	var waitErr error
wait:
	for {
		select {
		case sig := <-sigs:
			if shouldForward(sig, inForeground()) {
				cmd.Process.Signal(sig)
			}
		case waitErr = <-waitc:
			break wait
		}
	}
	if sess != nil {
		reportStop(stderr, sess.stop())
	}
	if cmd.ProcessState == nil {
		fmt.Fprintf(stderr, "sonde: waiting for %s: %v\n", argv[0], waitErr)
		return exitError
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return exitCode(ws)
}

// uninstrumentedReason is why a program runs uninstrumented, short: a
// program that is not Go is not a failure to explain at length.
func uninstrumentedReason(err error) string {
	if errors.Is(err, binary.ErrNotGo) {
		return "not a Go program"
	}
	return err.Error()
}

// shouldForward reports whether sig must be passed on to the program.
// SIGINT and SIGQUIT typed at a terminal reach its whole foreground
// process group, the program included (it shares sonde's group): passing
// them on as well would deliver them twice. So when sonde is in the
// terminal's foreground group they are not passed on.
func shouldForward(sig os.Signal, foreground bool) bool {
	if !foreground {
		return true
	}
	return sig != syscall.SIGINT && sig != syscall.SIGQUIT
}

// inForeground reports whether sonde's process group is the foreground
// process group of its controlling terminal.
func inForeground() bool {
	fd, err := unix.Open("/dev/tty", unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false // no controlling terminal
	}
	defer unix.Close(fd)
	pgrp, err := unix.IoctlGetInt(fd, unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
