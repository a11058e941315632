package databasesql

import (
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func TestDescribe(t *testing.T) {
	const q = "SELECT id, name FROM items WHERE id = $1 AND name <> 'secret' AND n > 42 AND ok = true"
	const obf = "SELECT id, name FROM items WHERE id = $1 AND name <> ? AND n > ? AND ok = true"
	for _, tc := range []struct {
		name      string
		cfg       statementConfig
		query     string
		truncated bool
		wantName  string
		want      map[string]any // nil value: absent
	}{
		{"off", statementConfig{}, q, false, "",
			map[string]any{"db.query.text": nil, "db.operation.name": nil, "db.collection.name": nil}},
		{"off, truncated: nothing to mark", statementConfig{}, q, true, "",
			map[string]any{"sonde.db.query.truncated": nil}},
		{"include", statementConfig{include: true}, q, false, "",
			map[string]any{"db.query.text": obf, "db.operation.name": nil, "sonde.db.query.truncated": nil}},
		{"include raw", statementConfig{include: true, raw: true}, q, false, "",
			map[string]any{"db.query.text": q}},
		{"raw alone adds nothing", statementConfig{raw: true}, q, false, "",
			map[string]any{"db.query.text": nil}},
		{"parse", statementConfig{parse: true}, q, false, "SELECT items",
			map[string]any{"db.query.text": nil, "db.operation.name": "SELECT", "db.collection.name": "items"}},
		{"parse and include", statementConfig{include: true, parse: true}, q, false, "SELECT items",
			map[string]any{"db.query.text": obf, "db.operation.name": "SELECT", "db.collection.name": "items"}},
		{"truncated inside a literal", statementConfig{include: true, parse: true},
			"UPDATE users SET password = 'hunter", true, "UPDATE users",
			map[string]any{"db.query.text": "UPDATE users SET password = ?", "sonde.db.query.truncated": true}},
		{"join: one operation, two tables", statementConfig{parse: true},
			"SELECT a.x FROM a JOIN b ON a.id = b.id", false, "SELECT a",
			map[string]any{"db.operation.name": "SELECT", "db.collection.name": nil}},
		{"insert select: two operations", statementConfig{parse: true},
			"INSERT INTO archive SELECT * FROM todos", false, "INSERT archive",
			map[string]any{"db.operation.name": nil, "db.collection.name": nil}},
		{"no table", statementConfig{parse: true}, "BEGIN", false, "BEGIN",
			map[string]any{"db.operation.name": "BEGIN", "db.collection.name": nil}},
		{"no command", statementConfig{parse: true}, "PRAGMA journal_mode", false, "",
			map[string]any{"db.operation.name": nil}},
		{"quoted, schema-qualified", statementConfig{parse: true},
			`DELETE FROM "public"."todos" WHERE id = $1`, false, "DELETE public.todos",
			map[string]any{"db.collection.name": "public.todos"}},
		{"empty", statementConfig{include: true, parse: true}, "", false, "",
			map[string]any{"db.query.text": "", "db.operation.name": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info := tc.cfg.describe(tc.query, tc.truncated, "postgresql")
			if info.name != tc.wantName {
				t.Errorf("name %q, want %q", info.name, tc.wantName)
			}
			got := attrMap(info.attrs)
			for k, v := range tc.want {
				g, ok := got[k]
				if v == nil && ok || v != nil && g != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, g, v, got)
				}
			}
		})
	}
}

// The keywords TRUE, FALSE and NULL are kept: they shape the statement.
func TestObfuscateKeepsKeywords(t *testing.T) {
	for q, want := range map[string]string{
		"CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, done BOOLEAN NOT NULL DEFAULT FALSE)": "CREATE TABLE IF NOT EXISTS todos (id INTEGER PRIMARY KEY, done BOOLEAN NOT NULL DEFAULT FALSE)",
		"UPDATE todos SET done = TRUE, note = NULL WHERE id = 7":                                         "UPDATE todos SET done = TRUE, note = NULL WHERE id = ?",
		"SELECT id FROM todos WHERE done IS NOT NULL AND title = 'x'":                                    "SELECT id FROM todos WHERE done IS NOT NULL AND title = ?",
	} {
		for _, system := range []string{"postgresql", "sqlite"} {
			text := attrMap(statementConfig{include: true}.describe(q, false, system).attrs)["db.query.text"]
			if text != want {
				t.Errorf("%s: %q obfuscated to %q, want %q", system, q, text, want)
			}
		}
	}
}

// Literals are gone from the obfuscated text in every dialect, and a cut
// statement leaks no part of the literal it was cut in.
func TestObfuscateLiterals(t *testing.T) {
	secret := "s3cr3t-value"
	for _, system := range []string{"postgresql", "mysql", "sqlite", "other_sql"} {
		for _, q := range []string{
			"SELECT * FROM t WHERE a = '" + secret + "'",
			"INSERT INTO t (a, b) VALUES ('" + secret + "', 12345)",
			"SELECT * FROM t WHERE a = $$" + secret + "$$",
			"SELECT * FROM t WHERE a = $tag$" + secret + "$tag$",
			"SELECT * FROM t WHERE a = 'x''" + secret + "'",
			"SELECT * FROM t WHERE a = '" + secret, // cut
		} {
			info := statementConfig{include: true}.describe(q, false, system)
			text := attrMap(info.attrs)["db.query.text"].(string)
			if strings.Contains(text, "s3cr3t") || strings.Contains(text, "12345") {
				t.Errorf("%s: %q obfuscated to %q", system, q, text)
			}
		}
	}
}
