package databasesql

import (
	"testing"

	sqllexer "github.com/DataDog/go-sqllexer"
)

func TestQuotedIdentifiers(t *testing.T) {
	for _, c := range []struct {
		q        string
		dbms     sqllexer.DBMSType
		op, tbl  string
		sanitize string
	}{
		{"SELECT * FROM `users` WHERE id = 1", "", "SELECT", "users", "SELECT * FROM `users` WHERE id = ?"},
		{"SELECT * FROM [users] WHERE name = 'a[b]'", "", "SELECT", "users", "SELECT * FROM [users] WHERE name = ?"},
		{`SELECT * FROM "users" WHERE id = 1`, "", "SELECT", "users", `SELECT * FROM "users" WHERE id = ?`},
		{"SELECT * FROM `users` WHERE id = 1", sqllexer.DBMSMySQL, "SELECT", "users", "SELECT * FROM `users` WHERE id = ?"},
		{"SELECT * FROM [users] WHERE id = 1", sqllexer.DBMSSQLServer, "SELECT", "users", "SELECT * FROM [users] WHERE id = ?"},
		{`SELECT * FROM "users" WHERE id = 1`, sqllexer.DBMSPostgres, "SELECT", "users", `SELECT * FROM "users" WHERE id = ?`},
		{"INSERT INTO `_collections` (`id`, `name`) VALUES ('x', 'it''s')", "", "INSERT", "_collections", "INSERT INTO `_collections` (`id`, `name`) VALUES (?, ?)"},
		{"CREATE TABLE t (name VARCHAR(255) NOT NULL, price DECIMAL(10, 2) DEFAULT 0)", "", "CREATE", "t",
			"CREATE TABLE t (name VARCHAR(255) NOT NULL, price DECIMAL(10, 2) DEFAULT ?)"},
	} {
		op, tbl, _ := parse(c.q, c.dbms)
		if op != c.op || tbl != c.tbl {
			t.Errorf("%s (%q): parsed %q %q, want %q %q", c.q, c.dbms, op, tbl, c.op, c.tbl)
		}
		if got := obfuscate(c.q, c.dbms); got != c.sanitize {
			t.Errorf("%s (%q): sanitized %q, want %q", c.q, c.dbms, got, c.sanitize)
		}
	}
}
