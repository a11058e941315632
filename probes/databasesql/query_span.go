package databasesql

import (
	"strconv"
	"unsafe"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/sonde-go/auto/internal/bpf"
	"github.com/sonde-go/auto/internal/pipeline"
)

// Sizes of the event (the statement's bytes follow it) and of the BPF
// statement copy (QUERY_MAX).
const (
	eventSize = int(unsafe.Sizeof(queryDbQueryEvent{}))
	queryMax  = len(queryDbInflight{}.Query)
)

// What the BPF side read of a returned error (enum err_code_kind).
const (
	errCodeString = uint32(queryErrCodeKindERR_CODE_STRING)
	errCodeInt    = uint32(queryErrCodeKindERR_CODE_INT)
	errCodeU16    = uint32(queryErrCodeKindERR_CODE_U16)
)

// decoder turns database events into spans for one target.
type decoder struct {
	cfg      statementConfig
	stmts    statementCache
	typeOf   func(itab uint64) string      // concrete type of an itab; "" unknown
	errType  func(tab, data uint64) string // error.type of an error value
	fallback string                        // db.system.name when the driver is unknown
}

// decode turns one event into a CLIENT span.
func (d *decoder) decode(raw []byte, clk *pipeline.Clock) (tracetest.SpanStub, error) {
	var ev queryDbQueryEvent
	if err := pipeline.Decode(raw, &ev); err != nil {
		return tracetest.SpanStub{}, err
	}
	h, _ := bpf.DecodeHeader(raw)
	s := h.Stub(clk, trace.SpanKindClient)

	system := d.system(ev.DriverTab)
	attrs := make([]attribute.KeyValue, 1, 12) // room for all: one allocation
	attrs[0] = semconv.DBSystemNameKey.String(system)
	if ev.DsnLen > 0 && int(ev.DsnLen) < len(ev.Dsn) {
		// A longer DSN was cut and is not parsed.
		e := parseDSN(system, pipeline.CString(ev.Dsn[:]))
		if e.database != "" {
			attrs = append(attrs, semconv.DBNamespace(e.database))
		}
		if e.host != "" {
			attrs = append(attrs, semconv.ServerAddress(e.host))
			if e.port > 0 {
				attrs = append(attrs, semconv.ServerPort(e.port))
			}
		}
	}

	n := max(min(int(ev.QueryLen), queryMax, len(raw)-eventSize), 0)
	truncated := int(ev.QueryLen) > n
	info := d.stmts.describe(d.cfg, pipeline.Text(raw[eventSize:eventSize+n], truncated), truncated, system)
	attrs = append(attrs, info.attrs...)

	if ev.ErrTab != 0 {
		code := errorCode(&ev)
		typ := code
		if code != "" {
			attrs = append(attrs, semconv.DBResponseStatusCode(code))
		} else {
			typ = d.errType(ev.ErrTab, ev.ErrData)
		}
		attrs = append(attrs, semconv.ErrorTypeKey.String(typ))
		s.Status = sdktrace.Status{Code: codes.Error}
	}
	s.Name = info.name
	if s.Name == "" {
		s.Name = system
	}
	s.Attributes = attrs
	return s, nil
}

// system returns db.system.name for the driver or connector itab.
func (d *decoder) system(tab uint64) string {
	if tab != 0 {
		if s, ok := systemOfType(d.typeOf(tab)); ok {
			return s
		}
	}
	return d.fallback
}

// errorCode returns the database's status code read from the error, or "".
func errorCode(ev *queryDbQueryEvent) string {
	switch ev.ErrKind {
	case errCodeString:
		return pipeline.CString(ev.ErrCode[:])
	case errCodeInt, errCodeU16:
		return strconv.FormatInt(ev.ErrNum, 10)
	}
	return ""
}
