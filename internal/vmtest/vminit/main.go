//go:build linux

// Command vminit is the /init of the kernel-matrix test VM: it mounts the
// kernel file systems, brings up loopback, runs each test binary of the
// manifest with its output prefixed on the console, prints one result line
// per binary and a final done line, then powers the VM off.
package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/sonde-go/auto/internal/vmtest/vmenv"
)

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vminit: must run as PID 1 inside the test VM")
		os.Exit(2)
	}
	console := os.Stdout
	for _, err := range setup() {
		fmt.Fprintf(console, "vminit: %v\n", err)
	}
	fmt.Fprintf(console, "%s release=%s lockdown=%s\n", vmenv.KernelMarker, release(), lockdown())

	m, err := vmenv.ReadManifest(vmenv.ManifestPath)
	if err != nil {
		fmt.Fprintf(console, "vminit: %v\n", err)
	} else {
		runAll(console, m, baseEnv())
	}
	fmt.Fprintln(console, vmenv.DoneMarker)
	powerOff(console)
}

// baseEnv is the environment every test binary starts from.
func baseEnv() []string {
	return []string{
		"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
		"HOME=/tmp",
		"TMPDIR=/tmp",
		vmenv.EnvInVM + "=1",
	}
}

// powerOff waits for the console to drain, syncs and powers off. If power
// off fails, returning from PID 1 panics the kernel, which (panic=-1 and
// qemu -no-reboot) ends the VM too.
func powerOff(console *os.File) {
	// tcdrain: without it the last lines may still sit in the UART buffer.
	_ = unix.IoctlSetInt(int(console.Fd()), unix.TCSBRK, 1)
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Fprintf(console, "vminit: power off: %v\n", err)
	}
}
