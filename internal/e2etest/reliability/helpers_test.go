package reliability

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// full reports whether the tests run at full length (SONDE_TEST_FULL=1).
func full() bool { return os.Getenv("SONDE_TEST_FULL") == "1" }

// length is short by default, long with SONDE_TEST_FULL=1.
func length[T any](short, long T) T {
	if full() {
		return long
	}
	return short
}

// server builds and starts the fixture.
func server(t *testing.T) (*e2etest.Proc, string) {
	t.Helper()
	testenv.RequireRoot(t)
	bin := testenv.Build(t, "testdata/server")
	return e2etest.Start(t, bin), bin
}

// load sends GET path from workers goroutines until ctx is done.
type load struct {
	ok, failed atomic.Int64
	firstErr   atomic.Value
	wg         sync.WaitGroup
}

func startLoad(ctx context.Context, addr, path string, workers int) *load {
	l := &load{}
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for range workers {
		l.wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := c.Get("http://" + addr + path)
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %s", resp.Status)
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					l.failed.Add(1)
					l.firstErr.CompareAndSwap(nil, err)
					continue
				}
				l.ok.Add(1)
			}
		})
	}
	return l
}

// stop waits for the workers and returns the successes and failures.
func (l *load) stop() (ok, failed int64, first error) {
	l.wg.Wait()
	e, _ := l.firstErr.Load().(error)
	return l.ok.Load(), l.failed.Load(), e
}

// get sends n requests to path one after another and fails on an error.
func get(t *testing.T, addr, path string, n int) {
	t.Helper()
	for range n {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// bpfObjects are the BPF links attached to one executable, their programs
// and the maps those use.
type bpfObjects struct {
	links []link.ID
	progs []ebpf.ProgramID
	maps  []ebpf.MapID
}

// attachedTo lists the uprobe_multi links on exe and what they use. Other
// tests' objects on this machine are not counted: only exe's.
func attachedTo(t *testing.T, exe string) bpfObjects {
	t.Helper()
	exe, _ = filepath.EvalSymlinks(exe)
	var o bpfObjects
	progs := map[ebpf.ProgramID]bool{}
	maps := map[ebpf.MapID]bool{}
	it := new(link.Iterator)
	defer it.Close()
	for it.Next() {
		info, err := it.Link.Info()
		if err != nil {
			continue
		}
		um := info.UprobeMulti()
		if um == nil || um.File != exe {
			continue
		}
		o.links = append(o.links, info.ID)
		if !progs[info.Program] {
			progs[info.Program] = true
			o.progs = append(o.progs, info.Program)
		}
	}
	if err := it.Err(); err != nil {
		t.Fatalf("iterating BPF links: %v", err)
	}
	for _, id := range o.progs {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue
		}
		if info, err := p.Info(); err == nil {
			ids, _ := info.MapIDs()
			for _, m := range ids {
				if !maps[m] {
					maps[m] = true
					o.maps = append(o.maps, m)
				}
			}
		}
		p.Close()
	}
	return o
}

// remaining lists which of o still exist.
func (o bpfObjects) remaining() []string {
	var left []string
	for _, id := range o.links {
		if l, err := link.NewFromID(id); err == nil {
			l.Close()
			left = append(left, fmt.Sprintf("link %d", id))
		}
	}
	for _, id := range o.progs {
		if p, err := ebpf.NewProgramFromID(id); err == nil {
			p.Close()
			left = append(left, fmt.Sprintf("program %d", id))
		}
	}
	for _, id := range o.maps {
		if m, err := ebpf.NewMapFromID(id); err == nil {
			m.Close()
			left = append(left, fmt.Sprintf("map %d", id))
		}
	}
	return left
}

// requireGone waits until none of o exists.
func requireGone(t *testing.T, o bpfObjects) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, func() error {
		if left := o.remaining(); len(left) > 0 {
			return fmt.Errorf("still there: %s", strings.Join(left, ", "))
		}
		return nil
	})
}

// front stands between the exporter and the receiver on a fixed address:
// up forwards, down refuses connections, slow forwards after a delay.
type front struct {
	t     *testing.T
	addr  string
	proxy *httputil.ReverseProxy
	delay atomic.Int64 // ns before forwarding

	mu  sync.Mutex
	srv *http.Server
}

func newFront(t *testing.T, rcv *otlptest.Receiver) *front {
	t.Helper()
	u, err := url.Parse(rcv.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{t: t, addr: l.Addr().String(), proxy: httputil.NewSingleHostReverseProxy(u)}
	f.serve(l)
	t.Cleanup(f.down)
	return f
}

// Env points the OTLP exporter at the front.
func (f *front) Env() []string {
	return []string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf", "OTEL_EXPORTER_OTLP_ENDPOINT=http://" + f.addr}
}

func (f *front) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(f.delay.Load()); d > 0 {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		f.proxy.ServeHTTP(w, r)
	})}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go srv.Serve(l)
}

// down closes the listener and every connection.
func (f *front) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.Close()
		f.srv = nil
	}
}

// up listens again on the same address.
func (f *front) up() {
	f.t.Helper()
	var l net.Listener
	testenv.Eventually(f.t, 10*time.Second, func() error {
		var err error
		l, err = net.Listen("tcp", f.addr)
		return err
	})
	f.serve(l)
}

// heapSampler records the peak of the live Go heap, sampled after a
// collection each time.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			runtime.GC()
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// heapLive is the live heap after a collection.
func heapLive() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// status reads a kB field of /proc/PID/status ("VmRSS").
func status(t *testing.T, pid int, field string) uint64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s in /proc/%d/status: %v", field, pid, err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// fds counts this process's open file descriptors.
func fds(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

var errNotYet = errors.New("not yet")

const mib = 1 << 20
