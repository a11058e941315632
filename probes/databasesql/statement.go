package databasesql

import (
	"strings"

	sqllexer "github.com/DataDog/go-sqllexer"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// attrQueryTruncated marks a statement longer than the BPF copy limit: its
// text and what was parsed from it come from its head only.
const attrQueryTruncated = attribute.Key("sonde.db.query.truncated")

// statementConfig says what to record of a statement (from probe.Settings).
type statementConfig struct {
	include bool // add db.query.text
	raw     bool // keep literals in db.query.text
	parse   bool // operation and table: attributes and the span name
}

// statementInfo is what a span gets from its statement.
type statementInfo struct {
	name  string // span name; "" when nothing names it
	attrs []attribute.KeyValue
}

// obfuscator replaces literals (strings, dollar-quoted strings, numbers)
// with "?". It keeps the keywords TRUE, FALSE and NULL (DEFAULT FALSE,
// IS NULL say how a statement works, not what data it holds) and
// placeholders ($1, ?, :name): parameterized text holds no values.
var obfuscator = sqllexer.NewObfuscator(sqllexer.WithReplaceBoolean(false), sqllexer.WithReplaceNull(false))

// normalizer collects the commands and tables of a statement.
var normalizer = sqllexer.NewNormalizer(
	sqllexer.WithCollectCommands(true),
	sqllexer.WithCollectTables(true),
)

// dbmsOf maps db.system.name to the lexer's dialect; others lex as generic
// SQL.
var dbmsOf = map[string]sqllexer.DBMSType{
	semconv.DBSystemNamePostgreSQL.Value.AsString():         sqllexer.DBMSPostgres,
	semconv.DBSystemNameMySQL.Value.AsString():              sqllexer.DBMSMySQL,
	semconv.DBSystemNameMariaDB.Value.AsString():            sqllexer.DBMSMySQL,
	semconv.DBSystemNameMicrosoftSQLServer.Value.AsString(): sqllexer.DBMSSQLServer,
	semconv.DBSystemNameOracleDB.Value.AsString():           sqllexer.DBMSOracle,
}

// describe returns what the span records of query, a statement of the
// database system, truncated by the probe when truncated is set.
func (c statementConfig) describe(query string, truncated bool, system string) statementInfo {
	var info statementInfo
	if !c.include && !c.parse {
		return info
	}
	dbms := dbmsOf[system] // "": generic SQL
	if c.include {
		text := query
		if !c.raw {
			text = obfuscate(query, dbms)
		}
		info.attrs = append(info.attrs, semconv.DBQueryText(text))
	}
	if c.parse {
		op, table, attrs := parse(query, dbms)
		info.attrs = append(info.attrs, attrs...)
		info.name = strings.TrimSpace(op + " " + table)
	}
	if truncated {
		info.attrs = append(info.attrs, attrQueryTruncated.Bool(true))
	}
	return info
}

// obfuscate replaces the literals of query with "?". A truncated statement
// can end inside a literal: the lexer reads that as an incomplete literal,
// which is replaced too.
func obfuscate(query string, dbms sqllexer.DBMSType) string {
	q, restore := protectTypes(query)
	return restore(obfuscator.Obfuscate(q, sqllexer.WithDBMS(dbms)))
}

// joins are what the lexer counts as commands but only add a table to one.
var joins = map[string]bool{"JOIN": true, "STRAIGHT_JOIN": true}

// parse returns the statement's first command and first table, and the
// db.operation.name and db.collection.name attributes when the statement
// has exactly one of each (semantic conventions: a value parsed from text
// that names several would misdescribe the call).
func parse(query string, dbms sqllexer.DBMSType) (op, table string, attrs []attribute.KeyValue) {
	_, meta, err := normalizer.Normalize(quoteIdentifiers(query, dbms), sqllexer.WithDBMS(dbms))
	if err != nil || meta == nil {
		return "", "", nil
	}
	var cmds []string
	for _, c := range meta.Commands {
		if !joins[c] {
			cmds = append(cmds, c)
		}
	}
	if len(cmds) > 0 {
		op = cmds[0]
		if len(cmds) == 1 {
			attrs = append(attrs, semconv.DBOperationName(op))
		}
	}
	if len(meta.Tables) > 0 {
		table = meta.Tables[0]
		if len(meta.Tables) == 1 {
			attrs = append(attrs, semconv.DBCollectionName(table))
		}
	}
	if op == "" {
		table = "" // a table alone does not name a span
	}
	return op, table, attrs
}
