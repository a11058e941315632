package databasesql

import "testing"

func TestSystemOfType(t *testing.T) {
	for typ, want := range map[string]string{
		"*github.com/lib/pq.Driver":                           "postgresql",
		"*github.com/lib/pq.Connector":                        "postgresql",
		"github.com/jackc/pgx/v5/stdlib.driverConnector":      "postgresql",
		"*github.com/jackc/pgx/v4/stdlib.Driver":              "postgresql",
		"*github.com/go-sql-driver/mysql.MySQLDriver":         "mysql",
		"*modernc.org/sqlite.Driver":                          "sqlite",
		"*github.com/mattn/go-sqlite3.SQLiteDriver":           "sqlite",
		"*github.com/microsoft/go-mssqldb.Driver":             "microsoft.sql_server",
		"*github.com/lib/pqx.Driver":                          "", // not lib/pq
		"*main.fakeDriver":                                    "",
		"*example.com/wrap.Driver[*github.com/lib/pq.Driver]": "",
		"": "",
	} {
		got, ok := systemOfType(typ)
		if got != want || ok != (want != "") {
			t.Errorf("systemOfType(%q) = %q, %v; want %q", typ, got, ok, want)
		}
	}
}

func TestSystemOfModules(t *testing.T) {
	for _, tc := range []struct {
		mods []string
		want string
	}{
		{nil, "other_sql"},
		{[]string{"golang.org/x/net"}, "other_sql"},
		{[]string{"github.com/lib/pq", "golang.org/x/net"}, "postgresql"},
		{[]string{"github.com/lib/pq", "github.com/jackc/pgx/v5"}, "postgresql"},
		{[]string{"github.com/lib/pq", "modernc.org/sqlite"}, "other_sql"}, // which one: unknown
	} {
		m := map[string]string{}
		for _, p := range tc.mods {
			m[p] = "v1.0.0"
		}
		if got := systemOfModules(m); got != tc.want {
			t.Errorf("systemOfModules(%v) = %q, want %q", tc.mods, got, tc.want)
		}
	}
}

func TestParseDSN(t *testing.T) {
	for _, tc := range []struct {
		system, dsn string
		want        endpoint
	}{
		{"postgresql", "postgres://todo:password@127.0.0.1:5432/todo?sslmode=disable", endpoint{"127.0.0.1", 5432, "todo"}},
		{"postgresql", "postgresql://u@db.example.com/app", endpoint{"db.example.com", 5432, "app"}},
		{"postgresql", "postgres://u:p@[::1]:6543/app", endpoint{"::1", 6543, "app"}},
		{"postgresql", "postgres://u@h1:5433,h2:5434/app", endpoint{"h1", 5433, "app"}},
		{"postgresql", "postgres:///app?host=/var/run/postgresql", endpoint{"/var/run/postgresql", 0, "app"}},
		{"postgresql", "host=localhost port=5433 user=todo password='p w\\'d' dbname=todo sslmode=disable", endpoint{"localhost", 5433, "todo"}},
		{"postgresql", "dbname='my db' host = pg.internal", endpoint{"pg.internal", 5432, "my db"}},
		{"postgresql", "user=todo dbname=todo", endpoint{}}, // no host: not guessed
		{"postgresql", "host=/tmp dbname=x", endpoint{"/tmp", 0, "x"}},
		{"mysql", "user:pa@ss@tcp(db.example.com:3307)/shop?parseTime=true", endpoint{"db.example.com", 3307, "shop"}},
		{"mysql", "user@tcp(10.0.0.1)/shop", endpoint{"10.0.0.1", 3306, "shop"}},
		{"mysql", "user@unix(/run/mysqld/mysqld.sock)/shop", endpoint{"/run/mysqld/mysqld.sock", 0, "shop"}},
		{"mysql", "/shop", endpoint{}},
		{"sqlite", "file:/tmp/x.db?_pragma=busy_timeout(5000)", endpoint{}},
		{"sqlite", "/tmp/x.db", endpoint{}},
		{"other_sql", "sqlserver://sa:pw@mssql.local:1433?database=shop", endpoint{"mssql.local", 1433, ""}},
		{"other_sql", "something opaque", endpoint{}},
		{"postgresql", "postgres://%zz", endpoint{}},
	} {
		if got := parseDSN(tc.system, tc.dsn); got != tc.want {
			t.Errorf("parseDSN(%s, %q) = %+v, want %+v", tc.system, tc.dsn, got, tc.want)
		}
	}
}
