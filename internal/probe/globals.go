package probe

import "strings"

// GlobalReader is a function that reads a global variable: the one it
// passes to Callee as an argument (binary.GlobalArg), or, with no Callee,
// the only global it references (binary.GlobalRef).
type GlobalReader struct{ Func, Callee string }

// Global returns the runtime address of the global variable name: from
// the symbol table, else (stripped binaries) through the first of
// readers found in the pclntab and disassembled.
func (t *Target) Global(name string, readers ...GlobalReader) (uint64, bool) {
	if a, ok := t.Symbol(name); ok {
		return a, true
	}
	for _, r := range readers {
		var a uint64
		var err error
		if r.Callee != "" {
			a, err = t.Bin.GlobalArg(r.Func, r.Callee)
		} else {
			a, err = t.Bin.GlobalRef(r.Func)
		}
		if err == nil {
			return a + t.Bias, true
		}
		t.Logger.V(1).Info("global variable not found through a function that reads it", "variable", name, "function", r.Func, "error", err.Error())
	}
	return 0, false
}

// TypeDescriptor returns the runtime address of the type descriptor of
// typ ("google.golang.org/grpc/metadata.mdIncomingKey") that one of the
// functions users references (binary.TypeRef), or 0.
func (t *Target) TypeDescriptor(typ string, users ...string) uint64 {
	for _, fn := range users {
		if a, err := t.Bin.TypeRef(fn, typ); err == nil {
			return a + t.Bias
		}
	}
	return 0
}

// ErrorVar returns the runtime address of a standard errors.New sentinel
// variable such as "io.EOF": from the symbol table, else the statically
// initialized variable of .data holding the only error value with its
// message (binary.ErrorVars).
func (t *Target) ErrorVar(name string) (uint64, bool) {
	if a, ok := t.Symbol(name); ok {
		return a, true
	}
	msg, ok := sentinelMessages[name]
	if !ok {
		return 0, false
	}
	v, ok := t.Bin.ErrorVars()[msg]
	if !ok {
		return 0, false
	}
	return v.Addr + t.Bias, true
}

// sentinelMessages are the messages of the sentinels that errors.New
// makes (the others are named by their type).
var sentinelMessages = map[string]string{
	"context.Canceled":               "context canceled",
	"io.EOF":                         "EOF",
	"io.ErrUnexpectedEOF":            "unexpected EOF",
	"io.ErrClosedPipe":               "io: read/write on closed pipe",
	"io.ErrShortWrite":               "short write",
	"net/http.ErrServerClosed":       "http: Server closed",
	"net/http.ErrHandlerTimeout":     "http: Handler timeout",
	"net/http.ErrAbortHandler":       "net/http: abort Handler",
	"database/sql.ErrNoRows":         "sql: no rows in result set",
	"database/sql.ErrConnDone":       "sql: connection is already closed",
	"database/sql.ErrTxDone":         "sql: transaction has already been committed or rolled back",
	"database/sql/driver.ErrBadConn": "driver: bad connection",
}

// sentinelValue returns the (itab, data) words of the sentinel name from
// the binary's static data, for targets without a symbol table.
func (t *Target) sentinelValue(name string) ([2]uint64, bool) {
	msg, ok := sentinelMessages[name]
	if !ok || strings.TrimSpace(msg) == "" {
		return [2]uint64{}, false
	}
	v, ok := t.Bin.ErrorVars()[msg]
	if !ok {
		return [2]uint64{}, false
	}
	return [2]uint64{v.Tab + t.Bias, v.Data + t.Bias}, true
}
