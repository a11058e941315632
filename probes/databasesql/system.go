package databasesql

import (
	"iter"
	"net"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// driverSystems maps the package (or module) path of a database/sql driver
// to the database system it talks to.
var driverSystems = []struct {
	pkg    string
	system attribute.KeyValue
}{
	{"github.com/lib/pq", semconv.DBSystemNamePostgreSQL},
	{"github.com/jackc/pgx", semconv.DBSystemNamePostgreSQL}, // v4, v5: stdlib
	{"github.com/go-sql-driver/mysql", semconv.DBSystemNameMySQL},
	{"modernc.org/sqlite", semconv.DBSystemNameSQLite},
	{"github.com/mattn/go-sqlite3", semconv.DBSystemNameSQLite},
	{"github.com/microsoft/go-mssqldb", semconv.DBSystemNameMicrosoftSQLServer},
	{"github.com/denisenkom/go-mssqldb", semconv.DBSystemNameMicrosoftSQLServer},
	{"github.com/sijms/go-ora", semconv.DBSystemNameOracleDB},
	{"github.com/godror/godror", semconv.DBSystemNameOracleDB},
	{"github.com/ClickHouse/clickhouse-go", semconv.DBSystemNameClickHouse},
	{"github.com/trinodb/trino-go-client", semconv.DBSystemNameTrino},
}

// systemOfPackage returns the database system of a driver package or
// module path, and false when the path is no known driver's.
func systemOfPackage(path string) (string, bool) {
	for _, d := range driverSystems {
		if path == d.pkg || strings.HasPrefix(path, d.pkg+"/") {
			return d.system.Value.AsString(), true
		}
	}
	return "", false
}

// systemOfType returns the database system of a driver or connector type
// as an itab names it ("*github.com/lib/pq.Driver"), and false when the
// type is no known driver's.
func systemOfType(typ string) (string, bool) {
	return systemOfPackage(typePackage(typ))
}

// typePackage returns the package path of a type name such as
// "*github.com/lib/pq.Driver" or "modernc.org/sqlite.Driver".
func typePackage(typ string) string {
	typ = strings.TrimLeft(typ, "*")
	if i := strings.IndexByte(typ, '['); i >= 0 {
		typ = typ[:i] // type arguments
	}
	slash := strings.LastIndexByte(typ, '/') + 1
	if dot := strings.IndexByte(typ[slash:], '.'); dot >= 0 {
		return typ[:slash+dot]
	}
	return typ
}

// systemOfModules returns the database system when the binary links the
// drivers of exactly one system, else other_sql: the answer for spans whose
// driver type is unknown.
func systemOfModules(modules map[string]string) string {
	found := ""
	for path := range modules {
		s, ok := systemOfPackage(path)
		if !ok {
			continue
		}
		if found != "" && found != s {
			return otherSQL
		}
		found = s
	}
	if found == "" {
		return otherSQL
	}
	return found
}

var otherSQL = semconv.DBSystemNameOtherSQL.Value.AsString()

// endpoint is where a data source name says the database is.
type endpoint struct {
	host     string // host name, IP address or Unix socket path
	port     int    // 0: unknown
	database string // database name
}

// Default ports, set when a data source name names a host but no port.
var defaultPorts = map[string]int{
	semconv.DBSystemNamePostgreSQL.Value.AsString(): 5432,
	semconv.DBSystemNameMySQL.Value.AsString():      3306,
}

// parseDSN reads the server and database out of a data source name in the
// format of the system's drivers; of any other system's URL it takes the
// host and port only. It returns the zero endpoint for formats it does not
// know (and for SQLite, which has no server).
func parseDSN(system, dsn string) endpoint {
	var e endpoint
	switch {
	case system == semconv.DBSystemNameSQLite.Value.AsString():
		return endpoint{}
	case strings.Contains(dsn, "://"):
		e = parseURLDSN(dsn)
		if _, ok := defaultPorts[system]; !ok {
			e.database = "" // what the path means is the driver's business
		}
	case system == semconv.DBSystemNamePostgreSQL.Value.AsString():
		e = parseKeyValueDSN(dsn)
	case system == semconv.DBSystemNameMySQL.Value.AsString():
		e = parseMySQLDSN(dsn)
	}
	if e.host == "" {
		return endpoint{}
	}
	if h, _, ok := strings.Cut(e.host, ","); ok {
		e.host = h // several hosts: the first one
		e.port = 0
		if hh, p, err := net.SplitHostPort(h); err == nil {
			e.host = hh
			e.port, _ = strconv.Atoi(p)
		}
	}
	if strings.HasPrefix(e.host, "/") {
		e.port = 0 // Unix socket
	} else if e.port == 0 {
		e.port = defaultPorts[system]
	}
	return e
}

// parseURLDSN reads "scheme://user:password@host:port/database?k=v"; the
// host, port and dbname parameters (libpq's) override the URL's parts.
func parseURLDSN(dsn string) endpoint {
	u, err := url.Parse(dsn)
	if err != nil {
		return endpoint{}
	}
	e := endpoint{host: u.Host, database: strings.TrimPrefix(u.Path, "/")}
	if !strings.Contains(u.Host, ",") {
		e.host = u.Hostname()
		e.port, _ = strconv.Atoi(u.Port())
	}
	q := u.Query()
	if h := q.Get("host"); h != "" {
		e.host = h
	}
	if p := q.Get("port"); p != "" {
		e.port, _ = strconv.Atoi(p)
	}
	if d := q.Get("dbname"); d != "" {
		e.database = d
	}
	return e
}

// parseKeyValueDSN reads libpq's "host=h port=5432 dbname='my db'" format.
func parseKeyValueDSN(dsn string) endpoint {
	var e endpoint
	for k, v := range keyValues(dsn) {
		switch k {
		case "host":
			e.host = v
		case "port":
			e.port, _ = strconv.Atoi(v)
		case "dbname":
			e.database = v
		}
	}
	return e
}

// keyValues yields the pairs of a libpq key/value string: values may be
// single-quoted, with backslash escapes.
func keyValues(s string) iter.Seq2[string, string] {
	return func(yield func(k, v string) bool) {
		for {
			s = strings.TrimLeft(s, " \t\n\r")
			eq := strings.IndexByte(s, '=')
			if eq <= 0 {
				return
			}
			k := strings.TrimSpace(s[:eq])
			s = strings.TrimLeft(s[eq+1:], " \t")
			var v strings.Builder
			if strings.HasPrefix(s, "'") {
				i := 1
				for ; i < len(s) && s[i] != '\''; i++ {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					v.WriteByte(s[i])
				}
				s = s[min(i+1, len(s)):]
			} else {
				i := 0
				for ; i < len(s) && s[i] != ' ' && s[i] != '\t' && s[i] != '\n'; i++ {
					if s[i] == '\\' && i+1 < len(s) {
						i++
					}
					v.WriteByte(s[i])
				}
				s = s[i:]
			}
			if !yield(k, v.String()) {
				return
			}
		}
	}
}

// parseMySQLDSN reads go-sql-driver/mysql's
// "[user[:password]@][net[(addr)]]/dbname[?params]" format.
func parseMySQLDSN(dsn string) endpoint {
	slash := strings.LastIndexByte(dsn, '/')
	if slash < 0 {
		return endpoint{}
	}
	e := endpoint{database: dsn[slash+1:]}
	if q := strings.IndexByte(e.database, '?'); q >= 0 {
		e.database = e.database[:q]
	}
	netAddr := dsn[:slash]
	if at := strings.LastIndexByte(netAddr, '@'); at >= 0 {
		netAddr = netAddr[at+1:]
	}
	open := strings.IndexByte(netAddr, '(')
	if open < 0 || !strings.HasSuffix(netAddr, ")") {
		return endpoint{database: e.database}
	}
	network, addr := netAddr[:open], netAddr[open+1:len(netAddr)-1]
	if network == "unix" {
		e.host = addr
		return e
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		e.host = addr
		return e
	}
	e.host = host
	e.port, _ = strconv.Atoi(port)
	return e
}
