package auto

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/go-logr/logr"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
	"github.com/sonde-go/auto/internal/version"
	"github.com/sonde-go/auto/probes"
)

// Version is Sonde's version.
const Version = version.Sonde

// counterPoll is how often BPF-side drop counters are read.
const counterPoll = 5 * time.Second

// Instrumentation instruments one target process.
type Instrumentation struct {
	cfg    config
	log    logr.Logger
	target *probe.Target
	pl     *pipeline.Pipeline
	mgr    *probe.Manager
	// metrics are Sonde's own (metrics.go); nil when off.
	metrics *selfMetrics

	countMu sync.Mutex
	counted map[uint32]uint64 // BPF counter values already reported

	// closed holds the BPF-side Stats read just before Close unloaded the
	// probes; nil before Close.
	closed *Stats

	closeOnce sync.Once
	closeErr  error
}

// NewInstrumentation finds the target (waiting for it when an executable
// path is given), inspects its binary and prepares the export pipeline.
// Nothing is attached until Load.
func NewInstrumentation(ctx context.Context, opts ...InstrumentationOption) (*Instrumentation, error) {
	decls, err := probe.DeclaredSettings(probes.All())
	if err != nil {
		return nil, fmt.Errorf("probe settings: %w", err)
	}
	cfg, err := newConfig(opts, decls)
	if err != nil {
		return nil, err
	}
	log := cfg.logger
	for _, p := range cfg.problems {
		log.Info("ignoring invalid environment value", "error", p.Error())
	}
	var kv []any
	for _, d := range decls {
		kv = append(kv, d.Env, cfg.settings[d.Env])
	}
	log.V(1).Info("probe settings", kv...)
	pid := cfg.pid
	if pid == 0 {
		log.Info("waiting for target", "exe", cfg.targetExe)
		pid, err = process.WaitExe(ctx, cfg.targetExe, 100*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("waiting for %s: %w", cfg.targetExe, err)
		}
	}
	if !process.Alive(pid) {
		return nil, fmt.Errorf("target pid %d: %w", pid, process.ErrExited)
	}
	target, err := probe.NewTarget(pid, log)
	if err != nil {
		return nil, kernel.ExplainAccess(pid, err)
	}
	target.Settings = cfg.settings
	target.Sampler = cfg.sampler
	target.ClassicSites = cfg.classicSites
	inst := &Instrumentation{cfg: cfg, log: log, target: target}
	res, err := inst.resource(ctx)
	if err != nil {
		target.Close()
		return nil, err
	}
	exp := cfg.exporter
	if exp == nil {
		exp, err = newSpanExporter(ctx)
		if err != nil {
			target.Close()
			return nil, fmt.Errorf("creating exporter from OTEL_* environment: %w", err)
		}
	}
	inst.pl, err = pipeline.New(pipeline.Config{Exporter: exp, Resource: res, Logger: log, QueueSize: cfg.queueSize})
	if err != nil {
		target.Close()
		return nil, fmt.Errorf("creating pipeline: %w", err)
	}
	inst.metrics = newSelfMetrics(ctx, cfg, res, log)
	return inst, nil
}

// PID returns the target's process ID.
func (i *Instrumentation) PID() int { return i.target.PID }

// resource builds the resource of every span: defaults, then Sonde's
// OTEL_RESOURCE_ATTRIBUTES (with WithEnv), then WithResourceAttributes,
// then the service name.
func (i *Instrumentation) resource(ctx context.Context) (*resource.Resource, error) {
	t := i.target
	exePath, _ := process.ExePath(t.PID)
	base := []attribute.KeyValue{
		semconv.ProcessPID(t.PID),
		semconv.ProcessExecutablePath(exePath),
		semconv.ProcessExecutableName(filepath.Base(exePath)),
		semconv.ProcessRuntimeName("go"),
		semconv.ProcessRuntimeVersion(t.Bin.GoVersion()),
		semconv.TelemetryDistroName("sonde"),
		semconv.TelemetryDistroVersion(Version),
	}
	opts := []resource.Option{resource.WithTelemetrySDK(), resource.WithAttributes(base...)}
	if i.cfg.useEnv {
		opts = append(opts, resource.WithFromEnv())
	}
	opts = append(opts, resource.WithAttributes(i.cfg.resAttrs...))
	opts = append(opts, resource.WithAttributes(semconv.ServiceName(i.serviceName(exePath))))
	res, err := resource.New(ctx, opts...)
	if err != nil && res == nil {
		return nil, fmt.Errorf("building resource: %w", err)
	}
	return res, nil
}

// serviceName: the last of WithServiceName and a service.name of
// WithResourceAttributes, else Sonde's OTEL_SERVICE_NAME (with WithEnv),
// else service.name in OTEL_RESOURCE_ATTRIBUTES (with WithEnv), else the
// target's own OTEL_SERVICE_NAME, else unknown_service:<exe name>.
func (i *Instrumentation) serviceName(exePath string) string {
	if i.cfg.serviceName != "" {
		return i.cfg.serviceName
	}
	if i.cfg.useEnv {
		if r, _ := resource.New(context.Background(), resource.WithFromEnv()); r != nil {
			if v, ok := r.Set().Value(semconv.ServiceNameKey); ok && v.AsString() != "" {
				return v.AsString()
			}
		}
	}
	if env, err := process.Environ(i.target.PID); err == nil && env[envServiceName] != "" {
		return env[envServiceName]
	}
	return "unknown_service:" + filepath.Base(exePath)
}

// Load loads and attaches every probe that applies to the target. Probes
// that cannot load are logged and skipped; Load fails only when none
// loaded.
func (i *Instrumentation) Load(ctx context.Context) error {
	facts := i.target.Facts
	i.log.Info("kernel", facts.KeyValues()...)
	if facts.WriteUser != nil {
		i.log.Info("writing into the target from BPF is off; outgoing trace context takes the network path (sock_ops + sk_msg, plaintext HTTP/1.x) where it can",
			"reason", facts.WriteUser.Error())
	}
	if err := i.checkFeatures(); err != nil {
		return err
	}
	mgr, err := probe.NewManager(i.target)
	if err != nil {
		return err
	}
	i.mgr = mgr
	i.log.Info("target", "pid", i.target.PID, "go", i.target.Bin.GoVersion(), "pie", i.target.Bin.PIE(),
		"symtab", i.target.Bin.HasSymtab(), "dwarf", i.target.DWARF != nil)
	t0 := time.Now()
	err = mgr.Load(probes.All(), i.pl)
	tm := mgr.Timing()
	i.log.V(1).Info("attach phases", "total", time.Since(t0).Round(time.Millisecond), "prepare", tm.Prepare.Round(time.Millisecond),
		"place", tm.Place.Round(time.Millisecond), "verify", tm.Verify.Round(time.Millisecond), "attach", tm.Attach.Round(time.Millisecond))
	if merr := i.metrics.observe(i); merr != nil {
		i.log.Info("Sonde's own metrics are off", "error", merr.Error())
	}
	// Every probe has its offsets now: the DWARF is not needed again.
	i.target.ReleaseDWARF()
	// Nor the pclntab and symbol table parsed for placing the probes; what
	// decoders name error types with (the itab list, the sentinel errors'
	// addresses) is read first.
	i.target.PrepareDecoding()
	i.target.Bin.ReleaseTables()
	for _, st := range mgr.Statuses() {
		if st.Loaded {
			i.log.Info("probe loaded", "probe", st.Probe, "version", st.Version, "sites", st.Sites, "links", st.Links,
				"uprobe_multi", st.Multi, "write_variant", st.Writes)
		} else if errors.Is(st.Err, probe.ErrNotLinked) {
			i.log.V(1).Info("probe not applicable", "probe", st.Probe, "reason", st.Err.Error())
		} else if errors.Is(st.Err, probe.ErrDisabled) {
			i.log.Info("probe off", "probe", st.Probe, "reason", st.Err.Error())
		} else {
			i.log.Info("probe skipped", "probe", st.Probe, "version", st.Version, "reason", st.Err.Error())
		}
	}
	return err
}

// Run exports spans until ctx is done or the target exits. It returns nil
// in both cases.
func (i *Instrumentation) Run(ctx context.Context) error {
	if i.mgr == nil {
		return errors.New("run before load")
	}
	events := i.mgr.Map("events")
	if events == nil {
		return errors.New("no event ring buffer loaded")
	}
	rd, err := ringbuf.NewReader(events)
	if err != nil {
		return fmt.Errorf("opening ring buffer: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		runErr = i.pl.Run(ctx, rd)
	}()
	go func() {
		defer wg.Done()
		i.pollCounters(ctx)
	}()
	if err := process.WaitExit(ctx, i.target.PID); err == nil {
		i.log.Info("target exited", "pid", i.target.PID)
		time.Sleep(50 * time.Millisecond) // let the last events arrive
	}
	cancel()
	wg.Wait()
	i.reportCounters()
	return runErr
}

func (i *Instrumentation) pollCounters(ctx context.Context) {
	t := time.NewTicker(counterPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			i.reportCounters()
		}
	}
}

// reportCounters passes new BPF-side drops to the pipeline and logs
// overflows of the correlation maps.
func (i *Instrumentation) reportCounters() {
	i.countMu.Lock()
	defer i.countMu.Unlock()
	if i.counted == nil {
		i.counted = map[uint32]uint64{}
	}
	for k, v := range i.mgr.Counters() {
		prev := i.counted[k]
		i.counted[k] = v
		if v <= prev {
			continue
		}
		if k == probe.CounterRingbufFull {
			i.pl.AddKernelDrops(v - prev)
		}
		i.log.Info("BPF overflow", "what", probe.CounterNames[k], "new", v-prev, "total", v)
	}
}

// ErrShutdownTimeout is matched by Close's error when the exporter did not
// take every queued span within the shutdown timeout
// (WithShutdownTimeout); the error says how many were not sent, and Stats
// counts them as dropped.
var ErrShutdownTimeout = pipeline.ErrShutdownTimeout

// Close detaches all probes, flushes pending spans and shuts the exporter
// down, waiting at most the shutdown timeout for the exporter.
func (i *Instrumentation) Close() error {
	i.closeOnce.Do(func() {
		var errs []error
		if i.mgr != nil {
			i.reportCounters() // the last BPF-side drops, before Shutdown
			bpf := i.bpfStats()
			i.countMu.Lock()
			i.closed = &bpf
			i.countMu.Unlock()
			errs = append(errs, i.mgr.Close())
		}
		timeout := i.cfg.shutdownTimeout
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		err := i.pl.Shutdown(ctx)
		var unsent *pipeline.UnsentError
		if errors.As(err, &unsent) {
			err = fmt.Errorf("%w: %s not sent within the %v shutdown timeout", ErrShutdownTimeout, pipeline.Count(unsent.Spans, "span"), timeout)
		}
		errs = append(errs, err)
		mctx, mcancel := context.WithTimeout(context.Background(), timeout)
		i.metrics.shutdown(mctx) // the last values, after the last spans
		mcancel()
		errs = append(errs, i.target.Close())
		i.closeErr = errors.Join(errs...)
	})
	return i.closeErr
}
