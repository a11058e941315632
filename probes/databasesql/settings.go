package databasesql

import "github.com/sonde-go/auto/internal/probe"

// The probe's settings: environment variables, also the names
// auto.WithSetting takes. As the semantic conventions allow, the statement
// is recorded by default with its literals masked (statements hold
// personal data in their literals), and names the span; the raw text is
// off by default.
const (
	EnvIncludeStatement = "OTEL_GO_AUTO_INCLUDE_DB_STATEMENT"
	EnvStatementRaw     = "OTEL_GO_AUTO_DB_STATEMENT_RAW"
	EnvParseStatement   = "OTEL_GO_AUTO_PARSE_DB_STATEMENT"
)

var settings = []probe.Setting{
	probe.BoolSetting(EnvIncludeStatement, true, "db.query.text on database spans, literals replaced by ? (false: no statement)"),
	probe.BoolSetting(EnvStatementRaw, false, "true keeps the literals in db.query.text"),
	probe.BoolSetting(EnvParseStatement, true, `database spans named "{operation} {table}", with db.operation.name and db.collection.name (false: named by db.system.name)`),
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
