package probe

import (
	"encoding/binary"
	"strings"

	"github.com/sonde-go/auto/internal/process"
)

// sentinels are the standard library's error values that error.type names
// as themselves rather than by their type (most are *errors.errorString).
var sentinels = []string{
	"context.Canceled", "io.EOF", "io.ErrUnexpectedEOF", "io.ErrClosedPipe", "io.ErrShortWrite",
	"net.ErrClosed", "net/http.ErrServerClosed", "net/http.ErrHandlerTimeout", "net/http.ErrAbortHandler",
	"database/sql.ErrNoRows", "database/sql.ErrConnDone", "database/sql.ErrTxDone", "database/sql/driver.ErrBadConn",
	"os.ErrDeadlineExceeded",
}

// namedTypes are error types error.type names by a conventional name.
var namedTypes = map[string]string{
	"context.deadlineExceededError": "context.DeadlineExceeded",
}

// ErrorType returns the error.type of the error value (itab tab, data
// word data) a probe read: a known sentinel's name (context.Canceled,
// io.EOF, ...), else its concrete type's name without the pointer star
// (net.OpError), else "_OTHER" (an errors.New value, or a type the symbol
// table does not name), as the semantic conventions prescribe.
func (t *Target) ErrorType(tab, data uint64) string {
	if tab == 0 {
		return ""
	}
	if name, ok := t.sentinel(tab, data); ok {
		return name
	}
	typ := strings.TrimPrefix(t.ItabType(tab), "*")
	if n, ok := namedTypes[typ]; ok {
		return n
	}
	switch typ {
	case "", "errors.errorString", "fmt.wrapError", "fmt.wrapErrors", "errors.joinError":
		return "_OTHER"
	}
	return typ
}

// sentinelAddr returns the runtime address of the sentinel variable name
// from the symbol table: as PrepareDecoding found it, else (nothing
// prepared) from the table itself.
func (t *Target) sentinelAddr(name string) (uint64, bool) {
	if t.sentinelAddrs != nil {
		a, ok := t.sentinelAddrs[name]
		return a, ok
	}
	return t.Symbol(name)
}

// sentinel names the standard sentinel whose value is (tab, data): both
// words, as values of zero size share their data word. The sentinels'
// values are read once from the target.
func (t *Target) sentinel(tab, data uint64) (string, bool) {
	t.sentinelOnce.Do(func() {
		t.sentinelData = map[[2]uint64]string{}
		for _, name := range sentinels {
			addr, ok := t.sentinelAddr(name)
			if !ok {
				// No symbol table: the value from the binary's data.
				if w, ok := t.sentinelValue(name); ok {
					if _, dup := t.sentinelData[w]; !dup {
						t.sentinelData[w] = name
					}
				}
				continue
			}
			var iface [16]byte
			if err := process.ReadMemory(t.PID, addr, iface[:]); err != nil {
				continue
			}
			w := [2]uint64{binary.LittleEndian.Uint64(iface[:]), binary.LittleEndian.Uint64(iface[8:])}
			if _, dup := t.sentinelData[w]; w[0] != 0 && !dup {
				t.sentinelData[w] = name
			}
		}
	})
	name, ok := t.sentinelData[[2]uint64{tab, data}]
	return name, ok
}
