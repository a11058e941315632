package pipeline

import "sync"

// maxExportErrors is how many distinct export errors are logged.
const maxExportErrors = 16

// distinct lets the first occurrence of each of up to max distinct
// messages be logged.
type distinct struct {
	mu   sync.Mutex
	seen map[string]bool
	max  int
}

// allow reports whether to log msg, and whether it is the last distinct
// message logged.
func (d *distinct) allow(msg string) (ok, last bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[msg] || len(d.seen) >= d.max {
		return false, false
	}
	if d.seen == nil {
		d.seen = map[string]bool{}
	}
	d.seen[msg] = true
	return true, len(d.seen) == d.max
}
