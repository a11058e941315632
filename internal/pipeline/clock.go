package pipeline

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// clockSamples is how many (monotonic, realtime, monotonic) readings
	// are taken to measure the offset; the tightest one wins.
	clockSamples = 7
	// clockResync is how often, in event time, the offset is measured
	// again, so that steps of the wall clock (NTP, settimeofday, resume
	// from suspend) reach the spans.
	clockResync = time.Minute
)

// Clock converts kernel CLOCK_MONOTONIC nanoseconds, what bpf_ktime_get_ns
// returns, to wall time. It is safe for concurrent use.
type Clock struct {
	offset   atomic.Int64 // CLOCK_REALTIME - CLOCK_MONOTONIC, ns
	syncedAt atomic.Int64 // CLOCK_MONOTONIC of the last measurement, ns
	mu       sync.Mutex   // held while measuring
}

// NewClock returns a Clock with a freshly measured offset.
func NewClock() *Clock {
	c := &Clock{}
	c.sync()
	return c
}

// Time returns the wall time of the monotonic timestamp mono. A zero mono
// (no timestamp) gives the zero time.
func (c *Clock) Time(mono uint64) time.Time {
	if mono == 0 {
		return time.Time{}
	}
	if int64(mono)-c.syncedAt.Load() > int64(clockResync) && c.mu.TryLock() {
		c.sync()
		c.mu.Unlock()
	}
	return time.Unix(0, int64(mono)+c.offset.Load())
}

// sync measures the offset between the two clocks: of a few readings
// realtime bracketed by two monotonic readings, the one with the smallest
// bracket gives the offset, taken against the bracket's midpoint.
func (c *Clock) sync() {
	best := int64(-1)
	var offset, at int64
	for range clockSamples {
		var m1, r, m2 unix.Timespec
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &m1) != nil ||
			unix.ClockGettime(unix.CLOCK_REALTIME, &r) != nil ||
			unix.ClockGettime(unix.CLOCK_MONOTONIC, &m2) != nil {
			continue
		}
		lat := m2.Nano() - m1.Nano()
		if best < 0 || lat < best {
			best = lat
			mid := m1.Nano() + lat/2
			offset = r.Nano() - mid
			at = mid
		}
	}
	if best < 0 {
		// clock_gettime cannot fail for these clocks on Linux; keep the
		// previous offset if it ever does.
		return
	}
	c.offset.Store(offset)
	c.syncedAt.Store(at)
}
