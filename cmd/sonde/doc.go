// Command sonde traces Go programs with eBPF, with no change to their code.
//
// Usage:
//
//	sonde                      instrument OTEL_GO_AUTO_TARGET_EXE or _PID (sidecar)
//	sonde run [--] PROG ARGS   start PROG and instrument it from its first instruction
//	sonde check --exe PATH     say what would be instrumented, and what would not and why
//	sonde check --pid N
//	sonde demo                 build and trace the bundled todo example (needs root)
//	sonde version
//	sonde help
//
// Spans are exported as the standard OTEL_* environment says: by default
// OTLP/HTTP in plaintext to http://localhost:4318. Run `sonde help` for the
// environment variables and the exit codes.
package main
