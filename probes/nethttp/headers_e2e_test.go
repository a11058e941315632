package nethttp_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
	"github.com/sonde-go/auto/internal/probe"
)

// TestManyHeaders: the caller's traceparent is found among as many
// headers as the walk covers (about 800), and each request with more
// where it was missed is counted, never silently lost; up to net/http's
// default limit of 1 MiB of headers (20,000 short lines here). Seen here:
// 2,000 headers 7 of 10 found, 5,000 6 of 10, 20,000 2 of 10, every miss
// counted. The bounds stay: a walk of 20,000 entries would cost the
// target's thread milliseconds in BPF per request. On Go 1.27 (its own
// map code) the fixture raises Server.MaxHeaderValueCount, whose default
// of 500 would answer these requests 431 before any handler runs.
func TestManyHeaders(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range []struct {
		name string
		opts []testenv.Option
	}{
		{"swiss", nil},
		{"swiss-go1.27", []testenv.Option{testenv.Go127}},
		{"classic", []testenv.Option{testenv.Toolchain(testenv.Go122)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			manyHeaders(t, testenv.Build(t, "testdata/server", c.opts...))
		})
	}
}

func manyHeaders(t *testing.T, bin string) {
	proc := e2etest.Start(t, bin, "OTEL_SERVICE_NAME=fixture-server", "MAX_HEADER_VALUES=100000")
	rcv := otlptest.Start(t)
	inst := e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
	base := "http://" + proc.Addr
	incomplete := func() uint64 {
		return inst.Stats().Overflows[probe.CounterNames[probe.CounterMapWalkIncomplete]]
	}

	const perSize = 3
	sizes := []int{500, 2000, 20000}
	for _, n := range sizes {
		for i := 0; i < perSize; i++ {
			hdr := map[string]string{"traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}
			for j := 0; j < n; j++ {
				hdr["X-F"+strconv.Itoa(j)] = "v"
			}
			before := incomplete()
			path := "/hello/h" + strconv.Itoa(n) + "-" + strconv.Itoa(i)
			if c := request(t, "GET", base+path, hdr); c != 200 {
				t.Fatalf("%d headers: status %d", n, c)
			}
			spans := rcv.WaitSpans(t, 1, 10*time.Second)
			var s *otlptest.Span
			testenv.Eventually(t, 10*time.Second, func() error {
				spans = rcv.Spans()
				for k := range spans {
					if spans[k].Str("url.path") == path {
						s = &spans[k]
						return nil
					}
				}
				return errMissing(path)
			})
			found := s.TraceID.String() == callerTrace && s.ParentID.String() == callerSpan
			counted := incomplete() > before
			switch {
			case n <= 500 && !found:
				t.Errorf("%d headers: traceparent not found (trace %s), within the walk's bounds", n, s.TraceID)
			case !found && !counted:
				t.Errorf("%d headers: traceparent missed and not counted", n)
			case found && counted:
				t.Errorf("%d headers: traceparent found but the request counted as incomplete", n)
			}
			t.Logf("%d headers: found %v, counted %v", n, found, counted)
		}
	}
}

type errMissing string

func (e errMissing) Error() string { return "no span for " + string(e) + " yet" }
