package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/sonde-go/auto"
)

// Exit codes of sonde itself (`run` passes the program's own through).
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
	// exitNothing is `sonde check`'s code when no probe would attach.
	exitNothing = 1
)

// Command names.
const (
	cmdAgent   = "" // no command: the sidecar, target from the environment
	cmdRun     = "run"
	cmdCheck   = "check"
	cmdDemo    = "demo"
	cmdVersion = "version"
	cmdHelp    = "help"
)

// usageError is a command-line mistake; main prints it with a hint and
// exits with exitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// invocation is a parsed command line.
type invocation struct {
	command string   // one of the cmd* names
	verbose bool     // -v: debug logging
	argv    []string // run: the program and its arguments
	exe     string   // check --exe
	pid     int      // check --pid
}

// parseArgs parses sonde's arguments (without the program name). It
// returns flag.ErrHelp for -h and errors wrapping errUsage for mistakes.
func parseArgs(args []string) (invocation, error) {
	var inv invocation
	top := newFlagSet("sonde", &inv.verbose)
	if err := parseFlags(top, args); err != nil {
		return inv, err
	}
	rest := top.Args()
	if len(rest) == 0 {
		inv.command = cmdAgent
		return inv, nil
	}
	inv.command, rest = rest[0], rest[1:]
	switch inv.command {
	case cmdHelp:
		return inv, flag.ErrHelp
	case cmdVersion:
		return inv, noArgs(inv.command, rest)
	case cmdRun:
		fs := newFlagSet(cmdRun, &inv.verbose)
		if err := parseFlags(fs, rest); err != nil {
			return inv, err
		}
		inv.argv = fs.Args()
		if len(inv.argv) == 0 {
			return inv, usageErrorf("run: no program given")
		}
		return inv, nil
	case cmdCheck:
		fs := newFlagSet(cmdCheck, &inv.verbose)
		fs.StringVar(&inv.exe, "exe", "", "executable to inspect")
		fs.IntVar(&inv.pid, "pid", 0, "running process to inspect")
		if err := parseFlags(fs, rest); err != nil {
			return inv, err
		}
		if err := noArgs(inv.command, fs.Args()); err != nil {
			return inv, err
		}
		switch {
		case inv.exe == "" && inv.pid == 0:
			return inv, usageErrorf("check: give --exe PATH or --pid N")
		case inv.exe != "" && inv.pid != 0:
			return inv, usageErrorf("check: give --exe or --pid, not both")
		case inv.pid < 0:
			return inv, usageErrorf("check: --pid %d: not a PID", inv.pid)
		}
		return inv, nil
	case cmdDemo:
		fs := newFlagSet(cmdDemo, &inv.verbose)
		if err := parseFlags(fs, rest); err != nil {
			return inv, err
		}
		return inv, noArgs(inv.command, fs.Args())
	}
	return inv, usageErrorf("unknown command %q", inv.command)
}

// newFlagSet returns a silent flag set with -v.
func newFlagSet(name string, verbose *bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(verbose, "v", *verbose, "log at debug level")
	return fs
}

// parseFlags parses args into fs, returning a *usageError for mistakes.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return err
	case fs.Name() == "sonde":
		return usageErrorf("%v", err)
	}
	return usageErrorf("%s: %v", fs.Name(), err)
}

func noArgs(command string, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s: unexpected argument %q", command, strings.Join(args, " "))
	}
	return nil
}

// usage is the text of `sonde help` and -h: usageText, then every
// variable auto.Environment lists (the probe settings last), then
// usageTail.
func usage() string {
	var b strings.Builder
	b.WriteString(usageText)
	b.WriteString("\nEnvironment:\n")
	probeSettings := false
	for _, v := range auto.Environment() {
		if strings.HasPrefix(v.Option, "WithSetting(") && !probeSettings {
			probeSettings = true
			b.WriteString("\nProbe settings (environment):\n")
		}
		b.WriteString("  " + v.Name)
		if v.Default != "" {
			b.WriteString(" (default " + v.Default + ")")
		}
		b.WriteString("\n")
		for _, line := range wrap(v.Doc, 72) {
			b.WriteString("      " + line + "\n")
		}
	}
	b.WriteString(usageTail)
	return b.String()
}

// wrap breaks text into lines of at most width runes where it can.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

const usageText = `sonde traces Go programs with eBPF: no code change, OpenTelemetry spans out.

Usage:
  sonde [-v]                          instrument the target named by
                                      OTEL_GO_AUTO_TARGET_EXE (waits for it to
                                      start) or OTEL_GO_AUTO_TARGET_PID, until
                                      it exits or sonde gets SIGINT/SIGTERM
  sonde run [-v] [--] PROGRAM [ARGS]  start PROGRAM, instrumented before its
                                      first instruction; signals are passed on
                                      and sonde exits with PROGRAM's exit code
  sonde check [-v] --exe PATH         print kernel support, privileges, the Go
  sonde check [-v] --pid N            and library versions in the binary, and
                                      whether each probe would attach
  sonde demo [-v]                     build examples/todo, run it instrumented,
                                      send requests, print the traces (root)
  sonde version                       print the version
  sonde help                          print this text

  -v  log at debug level (default: OTEL_LOG_LEVEL, else info)

Exit codes:
  sonde         0 when the target exited or sonde was stopped (SIGINT,
                SIGTERM), spans not sent within the shutdown timeout
                included (they are reported); 1 on a failure; 2 on a usage
                mistake or no target
  sonde run     PROGRAM's own (128+N when signal N killed it; 127 when it
                does not exist, 126 when it cannot be executed)
  sonde check   0 when at least one probe would attach; 1 when none would
                or the binary cannot be read; 2 on a usage mistake
  sonde demo    0 on success; 1 on a failure; 130 or 143 when interrupted,
                141 when its output is closed (| head)
`

const usageTail = `
Spans are exported as the OTEL_* variables say: with none set, OTLP over
plain HTTP to http://localhost:4318 (the OpenTelemetry default).

The agent runs with a soft memory limit of 32 MiB (the Go runtime's
GOMEMLIMIT, which overrides it), so that reading a large binary's DWARF
does not double its footprint.

Loading eBPF programs needs root, or CAP_BPF+CAP_PERFMON (uprobe_multi,
kernel 6.6+), or CAP_SYS_ADMIN.
`
