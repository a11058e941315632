package databasesql

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/pipeline"
)

// Itab addresses of the fake target.
const (
	tabPQ      = 0x1000
	tabSQLite  = 0x2000
	tabCustom  = 0x3000
	tabPQErr   = 0x4000
	tabOpError = 0x5000
)

var fakeTypes = map[uint64]string{
	tabPQ:      "*github.com/lib/pq.Driver",
	tabSQLite:  "*modernc.org/sqlite.Driver",
	tabCustom:  "*main.fakeDriver",
	tabPQErr:   "*github.com/lib/pq.Error",
	tabOpError: "*net.OpError",
}

func newDecoder(cfg statementConfig, fallback string) *decoder {
	errType := func(a, _ uint64) string {
		if t := strings.TrimPrefix(fakeTypes[a], "*"); t != "" {
			return t
		}
		return "_OTHER"
	}
	return &decoder{cfg: cfg, typeOf: func(a uint64) string { return fakeTypes[a] }, errType: errType, fallback: fallback}
}

// record lays out ev followed by the statement bytes the probe copied.
func record(ev queryDbQueryEvent, query string) []byte {
	ev.Hdr.Kind = 1
	ev.Hdr.StartNs, ev.Hdr.EndNs = 1_000_000, 3_000_000
	ev.Hdr.Sc.TraceId[0], ev.Hdr.Sc.SpanId[0] = 1, 2
	ev.Hdr.Parent.TraceId[0], ev.Hdr.Parent.SpanId[0] = 1, 3
	if ev.QueryLen == 0 {
		ev.QueryLen = uint32(len(query))
	}
	raw := append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&ev)), eventSize)...)
	return append(raw, query[:min(len(query), queryMax)]...)
}

func withDSN(ev queryDbQueryEvent, dsn string) queryDbQueryEvent {
	ev.DsnLen = uint32(len(dsn))
	copy(ev.Dsn[:len(ev.Dsn)-1], dsn)
	return ev
}

func TestDecode(t *testing.T) {
	clk := pipeline.NewClock()
	const q = "SELECT title FROM todos WHERE id = $1 AND owner = 'ann'"
	pgDSN := "postgres://todo:password@db.local:5433/todo?sslmode=disable"

	t.Run("defaults", func(t *testing.T) {
		s, err := newDecoder(statementConfig{}, "other_sql").decode(record(withDSN(queryDbQueryEvent{DriverTab: tabPQ}, pgDSN), q), clk)
		if err != nil {
			t.Fatal(err)
		}
		got := attrMap(s.Attributes)
		want := map[string]any{"db.system.name": "postgresql", "server.address": "db.local", "server.port": int64(5433), "db.namespace": "todo"}
		if len(got) != len(want) {
			t.Errorf("attributes %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
		if s.Name != "postgresql" || s.SpanKind != trace.SpanKindClient || s.Status.Code != codes.Unset {
			t.Errorf("name %q kind %v status %v", s.Name, s.SpanKind, s.Status)
		}
		if !s.Parent.IsValid() || s.Parent.TraceID() != s.SpanContext.TraceID() || s.EndTime.Sub(s.StartTime).Milliseconds() != 2 {
			t.Errorf("parent %v, span %v, %v..%v", s.Parent, s.SpanContext, s.StartTime, s.EndTime)
		}
		for k, v := range got {
			if s, _ := v.(string); strings.Contains(s, "password") {
				t.Errorf("the DSN's password reached the span: %s = %q", k, s)
			}
		}
	})

	t.Run("parse and include", func(t *testing.T) {
		s, _ := newDecoder(statementConfig{include: true, parse: true}, "other_sql").decode(record(queryDbQueryEvent{DriverTab: tabSQLite}, q), clk)
		got := attrMap(s.Attributes)
		if s.Name != "SELECT todos" || got["db.query.text"] != "SELECT title FROM todos WHERE id = $1 AND owner = ?" ||
			got["db.system.name"] != "sqlite" || got["server.address"] != nil {
			t.Errorf("name %q, attributes %v", s.Name, got)
		}
	})

	t.Run("truncated", func(t *testing.T) {
		long := "SELECT id FROM todos WHERE " + strings.Repeat("id > 0 AND ", 600) + "true"
		s, _ := newDecoder(statementConfig{include: true, raw: true}, "other_sql").decode(record(queryDbQueryEvent{DriverTab: tabPQ}, long), clk)
		got := attrMap(s.Attributes)
		if got["sonde.db.query.truncated"] != true || got["db.query.text"] != long[:queryMax] {
			t.Errorf("truncated %v, text %d bytes", got["sonde.db.query.truncated"], len(got["db.query.text"].(string)))
		}
	})

	t.Run("truncated inside a character", func(t *testing.T) {
		// "é" is two bytes: the copy limit falls between them.
		long := strings.Repeat("x", queryMax-1) + "é and more"
		s, _ := newDecoder(statementConfig{include: true, raw: true}, "other_sql").decode(record(queryDbQueryEvent{}, long), clk)
		if got := attrMap(s.Attributes)["db.query.text"]; got != long[:queryMax-1] {
			t.Errorf("text ends %q, want the cut character dropped", got.(string)[len(got.(string))-4:])
		}
	})

	t.Run("invalid UTF-8", func(t *testing.T) {
		s, _ := newDecoder(statementConfig{include: true, raw: true}, "other_sql").decode(record(queryDbQueryEvent{}, "SELECT '\xff'"), clk)
		if got := attrMap(s.Attributes)["db.query.text"]; got != "SELECT '\uFFFD'" {
			t.Errorf("text %q", got)
		}
	})

	t.Run("SQLSTATE", func(t *testing.T) {
		ev := queryDbQueryEvent{DriverTab: tabPQ, ErrTab: tabPQErr, ErrKind: errCodeString}
		copy(ev.ErrCode[:], "42P01")
		s, _ := newDecoder(statementConfig{}, "other_sql").decode(record(ev, q), clk)
		got := attrMap(s.Attributes)
		if s.Status.Code != codes.Error || got["error.type"] != "42P01" || got["db.response.status_code"] != "42P01" {
			t.Errorf("status %v, attributes %v", s.Status, got)
		}
	})

	t.Run("numeric code", func(t *testing.T) {
		ev := queryDbQueryEvent{DriverTab: tabSQLite, ErrTab: 0x9999, ErrKind: errCodeInt, ErrNum: 1}
		s, _ := newDecoder(statementConfig{}, "other_sql").decode(record(ev, q), clk)
		if got := attrMap(s.Attributes); got["error.type"] != "1" || got["db.response.status_code"] != "1" {
			t.Errorf("attributes %v", got)
		}
	})

	t.Run("error type", func(t *testing.T) {
		for tab, want := range map[uint64]string{tabOpError: "net.OpError", 0x9999: "_OTHER"} {
			s, _ := newDecoder(statementConfig{}, "other_sql").decode(record(queryDbQueryEvent{DriverTab: tabPQ, ErrTab: tab}, q), clk)
			got := attrMap(s.Attributes)
			if s.Status.Code != codes.Error || got["error.type"] != want || got["db.response.status_code"] != nil {
				t.Errorf("error itab %#x: status %v, attributes %v", tab, s.Status, got)
			}
		}
	})

	t.Run("unknown driver", func(t *testing.T) {
		for _, tc := range []struct {
			tab      uint64
			fallback string
		}{{tabCustom, "postgresql"}, {tabCustom, "other_sql"}, {0, "sqlite"}} {
			s, _ := newDecoder(statementConfig{}, tc.fallback).decode(record(queryDbQueryEvent{DriverTab: tc.tab}, q), clk)
			if got := attrMap(s.Attributes)["db.system.name"]; got != tc.fallback || s.Name != tc.fallback {
				t.Errorf("driver %#x: db.system.name %v, name %q, want %q", tc.tab, got, s.Name, tc.fallback)
			}
		}
	})

	t.Run("DSN cut", func(t *testing.T) {
		ev := withDSN(queryDbQueryEvent{DriverTab: tabPQ}, pgDSN)
		ev.DsnLen = 400 // longer than what was copied
		s, _ := newDecoder(statementConfig{}, "other_sql").decode(record(ev, q), clk)
		if got := attrMap(s.Attributes); got["server.address"] != nil {
			t.Errorf("a cut DSN was parsed: %v", got)
		}
	})

	t.Run("short record", func(t *testing.T) {
		raw := record(queryDbQueryEvent{}, "")
		if _, err := newDecoder(statementConfig{}, "other_sql").decode(raw[:eventSize-1], clk); !errors.Is(err, pipeline.ErrShortRecord) {
			t.Errorf("error %v, want ErrShortRecord", err)
		}
	})

	t.Run("statement bytes missing", func(t *testing.T) {
		// The header claims more bytes than the record holds.
		raw := record(queryDbQueryEvent{QueryLen: 100}, "SELECT 1")
		s, err := newDecoder(statementConfig{include: true, raw: true}, "other_sql").decode(raw, clk)
		if err != nil || attrMap(s.Attributes)["db.query.text"] != "SELECT 1" {
			t.Errorf("err %v, attributes %v", err, attrMap(s.Attributes))
		}
	})
}
