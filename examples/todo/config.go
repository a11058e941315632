package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables read by the service.
const (
	envAddr        = "ADDR"         // listen address, host:port
	envPort        = "PORT"         // port only, used when ADDR is unset
	envDatabaseURL = "DATABASE_URL" // postgres://... selects PostgreSQL
	envDBPath      = "TODO_DB"      // SQLite file, when DATABASE_URL is unset
)

const (
	defaultAddr   = "127.0.0.1:8080"
	defaultDBFile = "sonde-todo.db"

	driverSQLite   = "sqlite"   // modernc.org/sqlite
	driverPostgres = "postgres" // github.com/lib/pq
)

// errBadDatabaseURL reports a DATABASE_URL that is not a PostgreSQL URL.
var errBadDatabaseURL = errors.New("DATABASE_URL must start with postgres:// or postgresql://")

// errBadDBPath reports a TODO_DB path the SQLite driver cannot take.
var errBadDBPath = errors.New("SQLite file path must not contain '?'")

// config is what the service needs to start.
type config struct {
	addr   string // listen address
	driver string // database/sql driver name
	dsn    string // data source name passed to sql.Open
	dbDesc string // dsn with any password removed, for logs
}

// configFromEnv builds a config from the environment read through getenv.
func configFromEnv(getenv func(string) string) (config, error) {
	c := config{addr: defaultAddr}
	switch {
	case getenv(envAddr) != "":
		c.addr = getenv(envAddr)
	case getenv(envPort) != "":
		// PORT follows the platform convention (all interfaces).
		c.addr = ":" + getenv(envPort)
	}

	if raw := getenv(envDatabaseURL); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return config{}, fmt.Errorf("parsing %s: %w", envDatabaseURL, err)
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return config{}, fmt.Errorf("scheme %q: %w", u.Scheme, errBadDatabaseURL)
		}
		c.driver, c.dsn, c.dbDesc = driverPostgres, raw, u.Redacted()
		return c, nil
	}

	path := getenv(envDBPath)
	if path == "" {
		path = filepath.Join(os.TempDir(), defaultDBFile)
	}
	if strings.ContainsRune(path, '?') {
		// The driver splits its parameters off at the first '?'.
		return config{}, fmt.Errorf("%s %q: %w", envDBPath, path, errBadDBPath)
	}
	c.driver, c.dsn, c.dbDesc = driverSQLite, sqliteDSN(path), path
	return c, nil
}

// sqliteDSN returns a modernc.org/sqlite DSN for the file at path: WAL so
// readers do not block the writer, a busy timeout so concurrent writers wait
// instead of failing, and immediate transactions so a transaction takes the
// write lock at BEGIN.
func sqliteDSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}
