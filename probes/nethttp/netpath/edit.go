package netpath

import (
	"bytes"
	"encoding/hex"
	"strconv"
)

// Limits of the head scan, as in netpath.c.
const (
	// ReqLineMax bounds the request line: a longer one is left alone.
	ReqLineMax = 2048
	// HeadWindow is how much of a request's first write is looked at.
	HeadWindow = 4096
	// TraceStateMax is the longest tracestate sent on (W3C: 512).
	TraceStateMax = 512
)

// App says what a request's own headers carry (enum np_app).
type App uint8

// What the request's own headers say about trace context.
const (
	AppNone  App = App(NetpathNpAppNP_APP_NONE)  // no traceparent: one is added
	AppOther App = App(NetpathNpAppNP_APP_OTHER) // its own, of another trace: kept
	AppSame  App = App(NetpathNpAppNP_APP_SAME)  // of the client span's trace (forwarded): reparented
)

// Request is what the uprobe records for a request about to be written.
type Request struct {
	Trace   [16]byte // the client span's trace
	Span    [8]byte  // the client span
	Sampled bool
	App     App
	// AppTraceState is set when the request has its own tracestate.
	AppTraceState bool
}

// Outcome is what Edit did with a request's first write.
type Outcome int

// Outcomes of Edit; each has a counter of the same meaning in netpath.c.
const (
	Inserted      Outcome = iota // traceparent (and tracestate) added after the request line
	KeptApp                      // the app's traceparent of another trace: untouched
	Reparented                   // a forwarded traceparent got the client span as parent
	SameNotSeen                  // the forwarded traceparent is not in the window: untouched
	NoRequestLine                // no request line within the window: untouched
)

// Edit is the model of netpath_msg: given the first write of a request
// (the bytes of one sendmsg), the uprobe's record of it and the trace's
// tracestate (nil for none), it returns the bytes the kernel sends and
// what was done. Writes after the first are never changed.
func Edit(first []byte, r Request, traceState []byte) ([]byte, Outcome) {
	if r.App == AppOther {
		return first, KeptApp
	}
	win := first[:min(len(first), HeadWindow)]
	eol := bytes.IndexByte(win[:min(len(win), ReqLineMax)], '\n') + 1
	if eol < 10 {
		return first, NoRequestLine
	}
	if r.App == AppSame {
		out := bytes.Clone(first)
		if !reparent(out[:len(win)], eol, r) {
			return first, SameNotSeen
		}
		return out, Reparented
	}
	line := HeaderLines(r, traceState)
	out := make([]byte, 0, len(first)+len(line))
	out = append(append(append(out, first[:eol]...), line...), first[eol:]...)
	return out, Inserted
}

// HeaderLines returns the lines Edit inserts for r: traceparent, then
// tracestate when the request has none and traceState is 1 to 512 bytes
// of printable ASCII.
func HeaderLines(r Request, traceState []byte) []byte {
	b := []byte("traceparent: " + Traceparent(r) + "\r\n")
	if !r.AppTraceState && len(traceState) > 0 && len(traceState) <= TraceStateMax && printable(traceState) {
		b = append(append(append(b, "tracestate: "...), traceState...), "\r\n"...)
	}
	return b
}

// Traceparent is the W3C value for r's client span.
func Traceparent(r Request) string {
	flags := "00"
	if r.Sampled {
		flags = "01"
	}
	return "00-" + hex.EncodeToString(r.Trace[:]) + "-" + hex.EncodeToString(r.Span[:]) + "-" + flags
}

// reparent finds, from offset from of the head in w, the first
// "traceparent:" header (any case) and, when it is a version 00 value of
// r's trace, writes r's span and flags into it.
func reparent(w []byte, from int, r Request) bool {
	bol, found := true, -1
	for i := 0; i < HeadWindow; i++ {
		off := from + i
		if off >= len(w) {
			break
		}
		c := w[off]
		if bol {
			if c == '\r' || c == '\n' {
				break
			}
			bol = false
			if off+13 <= len(w) && asciiFold(w[off:off+11], "traceparent") && w[off+11] == ':' {
				found = off + 12
				if w[off+12] == ' ' {
					found++
				}
				break
			}
		}
		if c == '\n' {
			bol = true
		}
	}
	if found < 0 || found+56 > len(w) {
		return false
	}
	t := w[found:]
	if t[0] != '0' || t[1] != '0' || t[2] != '-' || t[35] != '-' || t[52] != '-' || (t[55] != '\r' && t[55] != '\n') {
		return false
	}
	if string(t[3:35]) != hex.EncodeToString(r.Trace[:]) {
		return false
	}
	hex.Encode(t[36:52], r.Span[:])
	t[53], t[54] = '0', '0'
	if r.Sampled {
		t[54] = '1'
	}
	return true
}

// asciiFold reports whether b is s with ASCII letters in any case (only
// A-Z fold, as in netpath.c).
func asciiFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// printable reports whether b is all printable ASCII (0x20 to 0x7e).
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Inserted:
		return "inserted"
	case KeptApp:
		return "kept app traceparent"
	case Reparented:
		return "reparented"
	case SameNotSeen:
		return "forwarded traceparent not seen"
	case NoRequestLine:
		return "no request line"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}
