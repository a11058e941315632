// Command bench measures Sonde's overhead side by side with the
// alternatives, in one run on one machine: a target serving a minimal
// net/http handler (hello) and a todo lookup with one SQLite query (todo,
// like examples/todo) under a fixed closed-loop load, uninstrumented,
// instrumented by Sonde (sonde run), instrumented in-process by the
// OpenTelemetry SDK (otelhttp + otelsql exporting to the same receiver),
// and by a peer agent when SONDE_BENCH_PEER names its binary. Runs are
// interleaved (round by round, every mode in turn) and medians reported:
// requests/s, p50/p99 latency, the throughput ratio to uninstrumented,
// probe hits and BPF run time per request (kernel BPF stats), agent CPU
// per exported span, agent peak RSS, and attach time. It prints a table
// and writes JSON.
//
// Run as root from the repository root, with nothing else busy:
//
//	go run ./internal/bench                     # make bench
//	go run ./internal/bench -duration 20s -rounds 5 -json bench.json
//
// Environment: SONDE_BENCH_PEER, path of a peer agent (for example
// OpenTelemetry Go auto-instrumentation's binary) started with
// OTEL_GO_AUTO_TARGET_EXE set to the target; SONDE_BENCH_BASELINE, path
// of another sonde binary (an older build) run as mode "baseline", for a
// before/after comparison in one run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		duration = flag.Duration("duration", 10*time.Second, "load per run")
		warmup   = flag.Duration("warmup", 2*time.Second, "load before each measured run")
		rounds   = flag.Int("rounds", 3, "rounds; each runs every mode once")
		conns    = flag.Int("conns", 4, "concurrent keep-alive connections")
		modes    = flag.String("modes", "none,baseline,sonde,otel,peer", "modes to run (peer and baseline only when their variable is set)")
		scs      = flag.String("scenarios", "hello,todo", "scenarios to run")
		jsonOut  = flag.String("json", "bench.json", "file for the JSON results (empty: none)")
	)
	flag.Parse()
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root: the Sonde and peer modes attach eBPF programs")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt)
	defer cancel()

	dir, err := os.MkdirTemp("", "sonde-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	peer, baseline := os.Getenv("SONDE_BENCH_PEER"), os.Getenv("SONDE_BENCH_BASELINE")
	fmt.Fprintf(os.Stderr, "building into %s\n", dir)
	bin, err := build(dir, peer, baseline)
	if err != nil {
		return err
	}
	var ms []string
	for _, m := range strings.Split(*modes, ",") {
		if (m == modePeer && peer == "") || (m == modeBaseline && baseline == "") {
			continue
		}
		ms = append(ms, m)
	}
	var sel []scenario
	for _, s := range scenarios {
		if slices.Contains(strings.Split(*scs, ","), s.Name) {
			sel = append(sel, s)
		}
	}
	stats, err := enableBPFStats()
	if err != nil {
		return fmt.Errorf("enabling BPF run-time stats: %w", err)
	}
	defer stats.Close()
	recv, err := startReceiver()
	if err != nil {
		return err
	}
	defer recv.Close()

	r := &runner{bin: bin, recv: recv, dir: dir, conns: *conns, duration: *duration, warmup: *warmup, port: 18000}
	var all []measurement
	for round := 1; round <= *rounds; round++ {
		for _, sc := range sel {
			for _, mode := range ms {
				m, err := r.run(ctx, sc, mode, round)
				if err != nil {
					return fmt.Errorf("round %d, %s, %s: %w", round, sc.Name, mode, err)
				}
				fmt.Fprintf(os.Stderr, "round %d %-5s %-5s %8.0f req/s  p50 %6.0f us  p99 %6.0f us  errors %d\n",
					round, sc.Name, mode, m.RPS, m.P50us, m.P99us, m.Errors)
				all = append(all, m)
			}
		}
	}
	sum := summarize(all, ms, sel)
	printTable(os.Stdout, sum, conditions(*conns, *duration, *rounds))
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(map[string]any{
			"conditions": conditions(*conns, *duration, *rounds),
			"summary":    sum,
			"runs":       all,
		}, "", "  ")
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", *jsonOut)
	}
	return nil
}

// conditions describes the machine and the load, printed with the table.
func conditions(conns int, d time.Duration, rounds int) map[string]string {
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return map[string]string{
		"kernel": strings.TrimSpace(string(kernel)),
		"cpus":   fmt.Sprint(runtime.NumCPU()),
		"go":     runtime.Version(),
		"load":   fmt.Sprintf("%d keep-alive connections, closed loop, %s per run, %d rounds interleaved, medians", conns, d, rounds),
		"date":   time.Now().UTC().Format(time.RFC3339),
	}
}
