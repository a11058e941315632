package databasesql

import "github.com/sonde-go/auto/internal/probe"

// The probe's settings: environment variables, also the names
// auto.WithSetting takes. All are off by default: statements can hold
// personal data.
const (
	EnvIncludeStatement = "OTEL_GO_AUTO_INCLUDE_DB_STATEMENT"
	EnvStatementRaw     = "OTEL_GO_AUTO_DB_STATEMENT_RAW"
	EnvParseStatement   = "OTEL_GO_AUTO_PARSE_DB_STATEMENT"
)

var settings = []probe.Setting{
	probe.BoolSetting(EnvIncludeStatement, false, "true adds db.query.text, literals replaced by ?"),
	probe.BoolSetting(EnvStatementRaw, false, "true keeps the literals in db.query.text"),
	probe.BoolSetting(EnvParseStatement, false, `true names database spans "{operation} {table}"`),
}

// Settings implements probe.Configurable.
func (Probe) Settings() []probe.Setting { return settings }

// statementSettings reads the statement settings of t.
func statementSettings(t *probe.Target) statementConfig {
	return statementConfig{
		include: t.Settings.Bool(EnvIncludeStatement),
		raw:     t.Settings.Bool(EnvStatementRaw),
		parse:   t.Settings.Bool(EnvParseStatement),
	}
}
