package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// treeAttrs are the attributes shown after a span's duration, in order.
var treeAttrs = []attribute.Key{
	semconv.URLPathKey,
	semconv.HTTPResponseStatusCodeKey,
	semconv.DBSystemNameKey,
	semconv.DBQueryTextKey,
}

// writeTraces prints spans as one indented tree per trace: a span under
// its parent, spans whose parent is not among spans as roots, siblings and
// traces in start order. It returns the number of traces printed.
func writeTraces(w io.Writer, spans []sdktrace.ReadOnlySpan) (int, error) {
	byTrace := map[trace.TraceID][]sdktrace.ReadOnlySpan{}
	var order []trace.TraceID
	for _, s := range spans {
		id := s.SpanContext().TraceID()
		if _, ok := byTrace[id]; !ok {
			order = append(order, id)
		}
		byTrace[id] = append(byTrace[id], s)
	}
	for _, id := range order {
		slices.SortStableFunc(byTrace[id], byStart)
	}
	// A trace's first span is its earliest.
	slices.SortStableFunc(order, func(a, b trace.TraceID) int {
		return byStart(byTrace[a][0], byTrace[b][0])
	})
	tw := &treeWriter{w: w}
	for i, id := range order {
		if i > 0 {
			tw.printf("\n")
		}
		tw.printf("trace %s\n", id)
		tw.trace(byTrace[id])
	}
	return len(order), tw.err
}

func byStart(a, b sdktrace.ReadOnlySpan) int {
	return a.StartTime().Compare(b.StartTime())
}

// treeWriter remembers the first write error.
type treeWriter struct {
	w   io.Writer
	err error
}

func (tw *treeWriter) printf(format string, args ...any) {
	if tw.err == nil {
		_, tw.err = fmt.Fprintf(tw.w, format, args...)
	}
}

// trace prints the spans of one trace, sorted by start time.
func (tw *treeWriter) trace(spans []sdktrace.ReadOnlySpan) {
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		p := s.Parent().SpanID()
		if s.Parent().IsValid() && ids[p] && p != s.SpanContext().SpanID() {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	printed := map[trace.SpanID]bool{}
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		id := s.SpanContext().SpanID()
		if printed[id] {
			return
		}
		printed[id] = true
		tw.printf("%s%s\n", strings.Repeat("  ", depth+1), spanLine(s))
		for _, c := range children[id] {
			walk(c, depth+1)
		}
	}
	for _, r := range roots {
		walk(r, 0)
	}
	// Spans in a parent cycle have no root: print them flat.
	for _, s := range spans {
		walk(s, 0)
	}
}

// spanLine is one span on one line: name, kind, duration, key attributes,
// error. Line breaks and runs of spaces in values (a multi-line statement)
// become single spaces, so that the tree keeps its indentation.
func spanLine(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s  [%s]  %s", oneLine(s.Name()), s.SpanKind(), formatDuration(s.EndTime().Sub(s.StartTime())))
	set := attribute.NewSet(s.Attributes()...)
	for _, k := range treeAttrs {
		if v, ok := set.Value(k); ok {
			fmt.Fprintf(&b, "  %s=%s", k, oneLine(v.Emit()))
		}
	}
	if st := s.Status(); st.Code == codes.Error {
		b.WriteString("  ERROR")
		if st.Description != "" {
			b.WriteString(": " + oneLine(st.Description))
		}
	}
	return b.String()
}

// oneLine replaces every run of white space in s, line breaks included,
// with one space.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\n\r\t\v\f") && !strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// formatDuration prints milliseconds with two decimals below 10 ms, one
// below a second, and seconds above.
func formatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d < 0:
		return "?"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", ms)
	case d < time.Second:
		return fmt.Sprintf("%.1fms", ms)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}
