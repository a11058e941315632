package databasesql

import (
	"slices"
	"sync"
)

// statementCacheSize bounds the statements a statementCache keeps; when
// it is full the cache starts over (an application that builds its text
// with literals in it gets no hits and loses nothing but the lookup).
const statementCacheSize = 1024

// statementCacheMaxLen is the longest statement text kept.
const statementCacheMaxLen = 8 << 10

// statementCache keeps what describe found for recent statements: an
// application runs the same few statements over and over, and lexing one
// (obfuscation and parsing) costs more than the rest of its span.
type statementCache struct {
	mu sync.Mutex
	m  map[statementKey]statementInfo
}

type statementKey struct {
	query, system string
	truncated     bool
}

// describe is cfg.describe, from the cache when the statement was seen.
// The attributes returned are shared: callers append to them (the slice
// is clipped, so an append copies) but never change them in place.
func (c *statementCache) describe(cfg statementConfig, query string, truncated bool, system string) statementInfo {
	if len(query) > statementCacheMaxLen {
		return cfg.describe(query, truncated, system)
	}
	k := statementKey{query, system, truncated}
	c.mu.Lock()
	info, ok := c.m[k]
	c.mu.Unlock()
	if ok {
		return info
	}
	info = cfg.describe(query, truncated, system)
	info.attrs = slices.Clip(info.attrs)
	c.mu.Lock()
	if c.m == nil || len(c.m) >= statementCacheSize {
		c.m = make(map[statementKey]statementInfo, 64)
	}
	c.m[k] = info
	c.mu.Unlock()
	return info
}
