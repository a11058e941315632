package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Modes of a run: who instruments the target.
const (
	modeNone  = "none"  // uninstrumented
	modeSonde = "sonde" // sonde run -- app
	modeOtel  = "otel"  // OpenTelemetry SDK in the process (otelhttp, otelsql)
	modePeer  = "peer"  // the peer agent of SONDE_BENCH_PEER, attached by path
	// modeBaseline is another sonde binary (SONDE_BENCH_BASELINE), run
	// like modeSonde: a before/after comparison in one run.
	modeBaseline = "baseline"
)

// scenario is one request the load sends, and the spans each yields.
type scenario struct {
	Name  string
	Path  string
	Spans int
}

var scenarios = []scenario{
	{Name: "hello", Path: "/hello", Spans: 1},
	{Name: "todo", Path: "/todos/7", Spans: 2},
}

// measurement is what one run of one scenario in one mode measured.
type measurement struct {
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Round    int    `json:"round"`

	RPS      float64 `json:"rps"`
	P50us    float64 `json:"p50_us"`
	P99us    float64 `json:"p99_us"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`

	Spans          int64   `json:"spans"`              // received during the load window
	AttachSeconds  float64 `json:"attach_s,omitempty"` // agent start -> first span received
	HitsPerRequest float64 `json:"probe_hits_per_request,omitempty"`
	BPFnsPerReq    float64 `json:"bpf_ns_per_request,omitempty"`
	AgentUsPerSpan float64 `json:"agent_cpu_us_per_span,omitempty"`
	AgentPeakMiB   float64 `json:"agent_peak_rss_mib,omitempty"`
	TargetUsPerReq float64 `json:"target_cpu_us_per_request"`

	Programs map[string]progStat `json:"programs,omitempty"`
}

// runner holds what every run shares.
type runner struct {
	bin      binaries
	recv     *receiver
	dir      string
	conns    int
	duration time.Duration
	warmup   time.Duration
	port     int
}

// run measures one scenario in one mode.
func (r *runner) run(ctx context.Context, sc scenario, mode string, round int) (measurement, error) {
	m := measurement{Scenario: sc.Name, Mode: mode, Round: round}
	r.port++
	addr := "127.0.0.1:" + strconv.Itoa(r.port)
	url := "http://" + addr + sc.Path
	env := append(os.Environ(),
		"ADDR="+addr,
		"TODO_DB="+filepath.Join(r.dir, fmt.Sprintf("todo-%d.db", r.port)),
		"OTEL_SERVICE_NAME=bench-"+sc.Name,
		"OTEL_EXPORTER_OTLP_ENDPOINT="+r.recv.Endpoint(),
		"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_METRICS_EXPORTER=none", "OTEL_LOGS_EXPORTER=none",
	)
	base, err := bpfPrograms()
	if err != nil {
		return m, fmt.Errorf("listing BPF programs: %w", err)
	}

	var target, agent *exec.Cmd
	agentStart := time.Now()
	switch mode {
	case modeNone:
		target = command(r.bin.App, env)
	case modeOtel:
		target = command(r.bin.AppOtel, env)
	case modeSonde:
		agent = command(r.bin.Sonde, env, "run", "--", r.bin.App)
	case modeBaseline:
		agent = command(r.bin.Baseline, env, "run", "--", r.bin.App)
	case modePeer:
		target = command(r.bin.App, env)
		agent = command(r.bin.Peer, append(env, "OTEL_GO_AUTO_TARGET_EXE="+r.bin.App))
	default:
		return m, fmt.Errorf("unknown mode %q", mode)
	}
	r.recv.MarkFirst()
	for _, c := range []*exec.Cmd{target, agent} {
		if c == nil {
			continue
		}
		if err := c.Start(); err != nil {
			stop(target, agent)
			return m, fmt.Errorf("starting %s: %w", c.Path, err)
		}
		if c == target {
			agentStart = time.Now()
		}
	}
	defer stop(agent, target)

	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := waitHTTP(rctx, url); err != nil {
		return m, err
	}
	if agent != nil || mode == modeOtel {
		at, err := r.waitSpans(rctx, url)
		if err != nil {
			return m, fmt.Errorf("%s: %w", mode, err)
		}
		if agent != nil {
			m.AttachSeconds = at.Sub(agentStart).Seconds()
		}
	}
	runLoad(ctx, url, r.conns, r.warmup)
	r.settle(ctx, 0)

	targetPID := 0
	switch {
	case target != nil:
		targetPID = target.Process.Pid
	case agent != nil:
		targetPID = childOf(agent.Process.Pid)
	}
	from, _ := bpfPrograms()
	spans0 := r.recv.Spans()
	agentCPU0, targetCPU0 := pidCPU(agent), cpuOf(targetPID)

	res := runLoad(ctx, url, r.conns, r.duration)

	if mode != modeNone {
		r.settle(ctx, spans0+int64(res.Requests*sc.Spans))
	}
	to, _ := bpfPrograms()
	m.RPS, m.Requests, m.Errors = res.RPS(), res.Requests, res.Errors
	m.P50us, m.P99us = us(res.P50), us(res.P99)
	m.Spans = r.recv.Spans() - spans0
	if res.Requests > 0 {
		m.TargetUsPerReq = us(cpuOf(targetPID)-targetCPU0) / float64(res.Requests)
	}
	if agent != nil && res.Requests > 0 {
		runs, rt, by := bpfDelta(base, from, to)
		m.HitsPerRequest = float64(runs) / float64(res.Requests)
		m.BPFnsPerReq = float64(rt.Nanoseconds()) / float64(res.Requests)
		m.Programs = by
		if m.Spans > 0 {
			m.AgentUsPerSpan = us(pidCPU(agent)-agentCPU0) / float64(m.Spans)
		}
		if rss, err := peakRSS(agent.Process.Pid); err == nil {
			m.AgentPeakMiB = float64(rss) / (1 << 20)
		}
	}
	return m, nil
}

// waitSpans sends requests until a span reaches the receiver, and returns
// when the first export with spans arrived since the agent started (the
// target's own start-up spans count).
func (r *runner) waitSpans(ctx context.Context, url string) (time.Time, error) {
	for {
		if at, ok := r.recv.First(); ok {
			return at, nil
		}
		if err := waitHTTP(ctx, url); err != nil {
			return time.Time{}, err
		}
		if at, ok := r.recv.First(); ok {
			return at, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("no span reached the receiver: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// settle waits until the receiver has want spans, or its count stopped
// growing for two seconds (exporters batch: up to 5 s by default).
func (r *runner) settle(ctx context.Context, want int64) {
	last, since := r.recv.Spans(), time.Now()
	for time.Since(since) < 2*time.Second && ctx.Err() == nil {
		if want > 0 && last >= want {
			return
		}
		time.Sleep(100 * time.Millisecond)
		if n := r.recv.Spans(); n != last {
			last, since = n, time.Now()
		}
	}
}

func command(path string, env []string, args ...string) *exec.Cmd {
	c := exec.Command(path, args...)
	c.Env = env
	c.Stdout, c.Stderr = nil, logFile(path)
	c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return c
}

// logFile keeps a process's stderr next to its binary, for diagnosis.
func logFile(path string) *os.File {
	f, err := os.OpenFile(path+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil
	}
	return f
}

// stop ends each started process: SIGTERM, then SIGKILL after 10 s.
func stop(cmds ...*exec.Cmd) {
	for _, c := range cmds {
		if c == nil || c.Process == nil {
			continue
		}
		c.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			c.Process.Kill()
			<-done
		}
	}
}

// childOf returns the first child of pid (the target under sonde run),
// looking at every thread: Go may fork from any of them.
func childOf(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, t := range tasks {
		b, _ := os.ReadFile(t)
		if f := strings.Fields(string(b)); len(f) > 0 {
			c, _ := strconv.Atoi(f[0])
			return c
		}
	}
	return 0
}

func pidCPU(c *exec.Cmd) time.Duration {
	if c == nil || c.Process == nil {
		return 0
	}
	return cpuOf(c.Process.Pid)
}

func cpuOf(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	d, _ := cpuTime(pid)
	return d
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
