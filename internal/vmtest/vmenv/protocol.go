package vmenv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Console line markers. /init writes each marker line with one write, and a
// reader looks for the marker anywhere in a line, because kernel messages
// may land in front of it on the same console line.
const (
	// KernelMarker starts the line that describes the VM's kernel:
	// "SONDE-KERNEL release=R lockdown=L".
	KernelMarker = "SONDE-KERNEL"
	// ResultMarker starts one binary's result line:
	// "SONDE-RESULT name=N exit=E time=D".
	ResultMarker = "SONDE-RESULT"
	// DoneMarker is the last line /init writes before powering off.
	DoneMarker = "SONDE-DONE"
	// OutputSep separates a binary's name from one line of its output:
	// "name| line".
	OutputSep = "| "
)

// ErrNotResult is returned by ParseResult for a line without a result.
var ErrNotResult = errors.New("not a result line")

// Result is one binary's outcome, as /init reports it.
type Result struct {
	Name     string
	Exit     int // exit status; -1 when killed by a signal or not started
	TimedOut bool
	Duration time.Duration
}

// String formats r as a console result line (without newline).
func (r Result) String() string {
	s := fmt.Sprintf("%s name=%s exit=%d time=%s", ResultMarker, r.Name, r.Exit,
		r.Duration.Round(time.Millisecond))
	if r.TimedOut {
		s += " timeout=1"
	}
	return s
}

// ParseResult parses a result line written by Result.String. The marker may
// appear anywhere in line.
func ParseResult(line string) (Result, error) {
	var r Result
	i := strings.Index(line, ResultMarker+" ")
	if i < 0 {
		return r, ErrNotResult
	}
	fields := KeyValues(line[i+len(ResultMarker)+1:])
	r.Name = fields["name"]
	exit, err := strconv.Atoi(fields["exit"])
	if r.Name == "" || err != nil {
		return r, fmt.Errorf("parsing result line %q: %w", line, ErrNotResult)
	}
	r.Exit = exit
	r.TimedOut = fields["timeout"] == "1"
	if d, err := time.ParseDuration(fields["time"]); err == nil {
		r.Duration = d
	}
	return r, nil
}

// KeyValues splits "k=v k2=v2" into a map; words without "=" are ignored.
func KeyValues(s string) map[string]string {
	m := make(map[string]string)
	for _, w := range strings.Fields(s) {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = v
		}
	}
	return m
}
