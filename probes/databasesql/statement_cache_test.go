package databasesql

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestStatementCache(t *testing.T) {
	cfg := statementConfig{include: true, parse: true}
	var c statementCache
	queries := []string{
		"SELECT id, title FROM todos WHERE id = 7",
		"SELECT id, title FROM todos WHERE id = 7",
		"INSERT INTO t (a) VALUES ('x')",
		"CREATE TABLE t (name VARCHAR(255))",
		strings.Repeat("SELECT 1; ", statementCacheMaxLen/10+1),
	}
	for _, q := range queries {
		for _, truncated := range []bool{false, true} {
			want := cfg.describe(q, truncated, "postgresql")
			for range 2 {
				got := c.describe(cfg, q, truncated, "postgresql")
				if got.name != want.name || !reflect.DeepEqual(got.attrs, want.attrs) {
					t.Errorf("%.40q truncated=%v: cached %+v, want %+v", q, truncated, got, want)
				}
			}
		}
	}
	// Same text, other system: its own entry.
	c.describe(cfg, queries[0], false, "mysql")
	if _, ok := c.m[statementKey{queries[0], "mysql", false}]; !ok {
		t.Error("mysql has no entry of its own for a statement postgresql has")
	}
	// An append by a caller does not change the cached attributes.
	info := c.describe(cfg, queries[2], false, "sqlite")
	n := len(info.attrs)
	_ = append(info.attrs, attrQueryTruncated.Bool(true))
	if again := c.describe(cfg, queries[2], false, "sqlite"); len(again.attrs) != n || cap(again.attrs) != n {
		t.Errorf("cached attributes grew: %v", again.attrs)
	}
	if _, ok := c.m[statementKey{queries[4], "postgresql", false}]; ok {
		t.Error("a statement longer than statementCacheMaxLen was kept")
	}
	for i := range statementCacheSize + 10 {
		c.describe(cfg, fmt.Sprintf("SELECT %d", i), false, "sqlite")
	}
	if len(c.m) > statementCacheSize {
		t.Errorf("cache holds %d statements, bound %d", len(c.m), statementCacheSize)
	}
}

func BenchmarkDescribe(b *testing.B) {
	cfg := statementConfig{include: true, parse: true}
	q := "SELECT id, title, done FROM todos WHERE id = ?"
	b.Run("uncached", func(b *testing.B) {
		for range b.N {
			cfg.describe(q, false, "sqlite")
		}
	})
	b.Run("cached", func(b *testing.B) {
		var c statementCache
		for range b.N {
			c.describe(cfg, q, false, "sqlite")
		}
	})
}
