package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	if got := percentile(ds, 0.50); got != 50*time.Millisecond {
		t.Errorf("p50 = %v, want 50ms", got)
	}
	if got := percentile(ds, 0.99); got != 99*time.Millisecond {
		t.Errorf("p99 = %v, want 99ms", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {nil, 0}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	line := "1234 (my (odd) cmd) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 100 0 0"
	got, err := parseStatCPU(line)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStatCPU = %v, %v; want 3s", got, err)
	}
	if _, err := parseStatCPU("garbage"); err == nil {
		t.Error("no error for a malformed line")
	}
}

func TestSummarizeRatio(t *testing.T) {
	all := []measurement{
		{Scenario: "hello", Mode: modeNone, RPS: 1000},
		{Scenario: "hello", Mode: modeNone, RPS: 1200},
		{Scenario: "hello", Mode: modeNone, RPS: 900},
		{Scenario: "hello", Mode: modeSonde, RPS: 500, HitsPerRequest: 2, Requests: 10, Spans: 10},
		{Scenario: "hello", Mode: modeSonde, RPS: 600, HitsPerRequest: 2, Requests: 10, Spans: 10},
		{Scenario: "hello", Mode: modeSonde, RPS: 400, HitsPerRequest: 2, Requests: 10, Spans: 10},
	}
	sum := summarize(all, []string{modeNone, modeSonde}, scenarios[:1])
	if len(sum) != 2 || sum[0].RPS != 1000 || sum[1].RPS != 500 || sum[1].Ratio != 0.5 || sum[1].SpansPerReq != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	var b bytes.Buffer
	printTable(&b, sum, map[string]string{"kernel": "x"})
	if !strings.Contains(b.String(), "0.50") || !strings.Contains(b.String(), "kernel: x") {
		t.Errorf("table:\n%s", b.String())
	}
}
