package pipeline

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// monoNow is what bpf_ktime_get_ns would return now.
func monoNow(t *testing.T) uint64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		t.Fatalf("reading CLOCK_MONOTONIC: %v", err)
	}
	return uint64(ts.Nano())
}

func TestClockNow(t *testing.T) {
	c := NewClock()
	got := c.Time(monoNow(t))
	if d := time.Since(got); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("Time(now) is %v away from time.Now()", d)
	}
}

func TestClockKeepsDurations(t *testing.T) {
	c := NewClock()
	m := monoNow(t)
	const d = 1234567891 * time.Nanosecond
	if got := c.Time(m + uint64(d)).Sub(c.Time(m)); got != d {
		t.Fatalf("duration = %v, want %v", got, d)
	}
}

func TestClockZero(t *testing.T) {
	if got := NewClock().Time(0); !got.IsZero() {
		t.Fatalf("Time(0) = %v, want the zero time", got)
	}
}

func TestClockResyncs(t *testing.T) {
	c := NewClock()
	// Pretend the wall clock was stepped an hour since the last measurement.
	c.offset.Add(int64(time.Hour))
	c.syncedAt.Add(-int64(2 * clockResync))
	got := c.Time(monoNow(t))
	if d := time.Since(got); d < -50*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("after resync Time(now) is %v away from time.Now()", d)
	}
}
