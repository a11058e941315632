package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Options tune Boot; the zero value is the matrix's configuration.
type Options struct {
	// Timeout bounds the whole run; 0 means the initrd's timeout plus two
	// minutes.
	Timeout time.Duration
	// Console, if set, receives every console line as it arrives.
	Console io.Writer
	// QEMU is the emulator; default qemu-system-x86_64.
	QEMU string
	// MemoryMiB is the VM's memory; default 3072 (the initrd with every probe package's test binary and fixtures unpacks to about 370 MiB of RAM, and the tests need room to run).
	MemoryMiB int
	// CPUs is the VM's CPU count; default 2.
	CPUs int
	// Append is added to the kernel command line.
	Append string
}

// kernelCmdline is the base kernel command line: serial console, power
// off (via -no-reboot) on panic.
const kernelCmdline = "console=ttyS0 panic=-1 loglevel=5"

// doneGrace is how long Boot waits for qemu to exit after /init reported
// that it finished.
const doneGrace = 20 * time.Second

// ansiEscape matches the terminal control sequences the firmware prints.
var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|c)`)

// Boot boots kernel k with initrd under qemu emulation (no KVM), waits for
// /init to run every binary and power off, and returns what the console
// reported. The error wraps ErrTestFailed, ErrMissingResult, ErrIncomplete
// or ErrTimeout; the Result is filled as far as the run got in every case.
func Boot(ctx context.Context, k Kernel, initrd *Initrd, opts Options) (Result, error) {
	res := Result{Kernel: k}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = initrd.Timeout + 2*time.Minute
	}
	qemu := opts.QEMU
	if qemu == "" {
		qemu = "qemu-system-x86_64"
	}
	cmd := exec.Command(qemu, qemuArgs(k, initrd, opts)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second // a killed qemu's children may hold stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, fmt.Errorf("starting qemu: %w", err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting qemu: %w", err)
	}

	parser := newConsoleParser(&res)
	doneSeen := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReaderSize(stdout, 64<<10)
		signaled := false
		for {
			l, err := r.ReadString('\n')
			if l != "" {
				l = ansiEscape.ReplaceAllString(strings.TrimRight(l, "\r\n"), "")
				parser.line(l)
				if opts.Console != nil {
					fmt.Fprintln(opts.Console, l)
				}
				if res.Done && !signaled {
					signaled = true
					close(doneSeen)
				}
			}
			if err != nil {
				return
			}
		}
	}()

	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var runErr error
	kill := func() {
		_ = cmd.Process.Kill()
		select {
		case <-readDone:
		case <-time.After(time.Second):
			// Something else holds the console pipe open: stop reading.
			_ = stdout.Close()
			<-readDone
		}
	}
	select {
	case <-readDone:
	case <-ctx.Done():
		kill()
		runErr = ctx.Err()
	case <-timer.C:
		kill()
		runErr = fmt.Errorf("%w after %s", ErrTimeout, timeout)
	case <-doneSeen:
		select {
		case <-readDone:
		case <-time.After(doneGrace):
			kill() // /init finished; power off hung
		}
	}
	waitErr := cmd.Wait()
	res.Duration = time.Since(start)
	parser.finish()

	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	if err := res.Err(initrd.Binaries); err != nil {
		errs = append(errs, err)
	}
	if err := res.WantPassed(initrd.Want); err != nil {
		errs = append(errs, err)
	}
	if waitErr != nil && !res.Done && runErr == nil {
		errs = append(errs, fmt.Errorf("qemu: %w: %s", waitErr, strings.TrimSpace(stderr.String())))
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("kernel %s: %w", k.Release, errors.Join(errs...))
	}
	return res, nil
}

// qemuArgs is qemu's command line: pure emulation (the /dev/kvm here does
// not boot stock kernels), the serial console on stdio, no devices besides.
func qemuArgs(k Kernel, initrd *Initrd, opts Options) []string {
	mem, cpus := opts.MemoryMiB, opts.CPUs
	if mem <= 0 {
		mem = 3072
	}
	if cpus <= 0 {
		cpus = 2
	}
	cmdline := kernelCmdline
	if opts.Append != "" {
		cmdline += " " + opts.Append
	}
	return []string{
		"-accel", "tcg,thread=multi",
		"-cpu", "max",
		"-smp", strconv.Itoa(cpus),
		"-machine", "pc",
		"-m", strconv.Itoa(mem),
		"-nodefaults", "-nographic", "-no-reboot",
		"-serial", "stdio",
		"-kernel", k.Image,
		"-initrd", initrd.Path,
		"-append", cmdline,
	}
}

// Run builds an initrd for bins in a temporary directory and boots kernel k
// with it. To run the same binaries on several kernels, call BuildInitrd
// once and Boot for each kernel.
func Run(ctx context.Context, k Kernel, bins []TestBinary) (Result, error) {
	dir, err := os.MkdirTemp("", "sonde-vmtest-")
	if err != nil {
		return Result{Kernel: k}, fmt.Errorf("creating work dir: %w", err)
	}
	defer os.RemoveAll(dir)
	initrd, err := BuildInitrd(ctx, dir, bins, BuildOptions{})
	if err != nil {
		return Result{Kernel: k}, err
	}
	return Boot(ctx, k, initrd, Options{})
}
