package databasesql

import (
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

func field(s, n string) offsets.Field { return offsets.Field{Struct: s, Name: n} }

// database/sql fields, in every Go version since 1.10 (src/database/sql/sql.go).
var (
	dbConnector = field("database/sql.DB", "connector")
	dsnConnDSN  = field("database/sql.dsnConnector", "dsn")
	dsnConnDrv  = field("database/sql.dsnConnector", "driver")
	txDB        = field("database/sql.Tx", "db")
	connDB      = field("database/sql.Conn", "db")
	stmtDB      = field("database/sql.Stmt", "db")
	stmtQuery   = field("database/sql.Stmt", "query")
	sqlFields   = []offsets.Field{dbConnector, dsnConnDSN, dsnConnDrv, txDB, connDB, stmtDB, stmtQuery}
	// recvFields are the fields each entry program reads of its receiver.
	recvFields = map[string][]offsets.Field{
		"tx_entry":   {txDB},
		"conn_entry": {connDB},
		"stmt_entry": {stmtDB, stmtQuery},
	}
)

// errCodes are driver error types whose database status code the probe
// reads: the error's concrete type (as its itab names it) and the field.
var errCodes = []struct {
	typ   string
	field offsets.Field
	kind  uint32 // enum err_code_kind
}{
	{"*github.com/lib/pq.Error", field("github.com/lib/pq.Error", "Code"), errCodeString},                               // SQLSTATE
	{"*github.com/jackc/pgx/v5/pgconn.PgError", field("github.com/jackc/pgx/v5/pgconn.PgError", "Code"), errCodeString}, // SQLSTATE
	{"*modernc.org/sqlite.Error", field("modernc.org/sqlite.Error", "code"), errCodeInt},                                // result code
	{"*github.com/go-sql-driver/mysql.MySQLError", field("github.com/go-sql-driver/mysql.MySQLError", "Number"), errCodeU16},
}

// hooks: every Query/Exec method that runs a statement. Query, QueryRow,
// Exec and QueryRowContext call these (or are inlined into calls to them).
// Each is optional: the linker drops the methods a program never calls.
var hooks = []probe.Hook{
	{Symbol: "database/sql.(*DB).QueryContext", Entry: "db_entry", Return: "query_ret", Optional: true},
	{Symbol: "database/sql.(*DB).ExecContext", Entry: "db_entry", Return: "exec_ret", Optional: true},
	{Symbol: "database/sql.(*Tx).QueryContext", Entry: "tx_entry", Return: "query_ret", Optional: true},
	{Symbol: "database/sql.(*Tx).ExecContext", Entry: "tx_entry", Return: "exec_ret", Optional: true},
	{Symbol: "database/sql.(*Conn).QueryContext", Entry: "conn_entry", Return: "query_ret", Optional: true},
	{Symbol: "database/sql.(*Conn).ExecContext", Entry: "conn_entry", Return: "exec_ret", Optional: true},
	{Symbol: "database/sql.(*Stmt).QueryContext", Entry: "stmt_entry", Return: "query_ret", Optional: true},
	{Symbol: "database/sql.(*Stmt).ExecContext", Entry: "stmt_entry", Return: "exec_ret", Optional: true},
}

// Probe instruments database/sql: one CLIENT span per Query or Exec call,
// child of the caller's span found through its context or, failing that,
// its goroutine.
type Probe struct{}

// Name implements probe.Probe.
func (Probe) Name() string { return "database/sql" }

// Library implements probe.Probe.
func (Probe) Library() string { return "std" }

// Spec implements probe.Probe.
func (Probe) Spec() (*ebpf.CollectionSpec, error) { return loadQuery() }

// Hooks implements probe.Probe.
func (Probe) Hooks() []probe.Hook { return hooks }

// Fields implements probe.Probe. They are all optional to the manager: a
// program without database/sql has none of them, which Vars reports as
// probe.ErrNotLinked.
func (Probe) Fields() (required, optional []offsets.Field) {
	optional = append(optional, sqlFields...)
	for _, e := range errCodes {
		optional = append(optional, e.field)
	}
	return nil, optional
}

// Vars implements probe.Probe.
func (Probe) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	// Each receiver's fields are needed when its methods are in the binary
	// (the linker drops the types a program does not use).
	need := []offsets.Field{dbConnector}
	linked := false
	for _, h := range hooks {
		if _, err := t.Bin.Func(h.Symbol); err == nil {
			linked = true
			need = append(need, recvFields[h.Entry]...)
		}
	}
	if !linked {
		return nil, fmt.Errorf("no database/sql query method in the target: %w", probe.ErrNotLinked)
	}
	var missing []offsets.Field
	for _, f := range need {
		if _, ok := o[f]; !ok && !slices.Contains(missing, f) {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("struct offsets: %w", &offsets.MissingError{Fields: missing})
	}
	// sql.Open's connector: without its offsets, the driver is found from
	// the binary's modules only.
	dsnConn := t.Itab("database/sql.dsnConnector", "database/sql/driver.Connector")
	if _, ok := o[dsnConnDSN]; !ok {
		dsnConn = 0
	} else if _, ok := o[dsnConnDrv]; !ok {
		dsnConn = 0
	}
	var tabs, offs, kinds [errCodeSlots]uint64
	i := 0
	for _, e := range errCodes {
		tab := t.Itab(e.typ, "error")
		off, ok := o[e.field]
		if tab == 0 || !ok || i == errCodeSlots {
			continue
		}
		tabs[i], offs[i], kinds[i] = tab, off, uint64(e.kind)
		i++
	}
	return []probe.Var{
		{Name: "db_connector_off", Value: o.Get(dbConnector)},
		{Name: "dsn_connector_dsn_off", Value: o.Get(dsnConnDSN)},
		{Name: "dsn_connector_drv_off", Value: o.Get(dsnConnDrv)},
		{Name: "tx_db_off", Value: o.Get(txDB)},
		{Name: "conn_db_off", Value: o.Get(connDB)},
		{Name: "stmt_db_off", Value: o.Get(stmtDB)},
		{Name: "stmt_query_off", Value: o.Get(stmtQuery)},
		{Name: "itab_dsn_connector", Value: dsnConn},
		{Name: "err_code_tab", Value: tabs},
		{Name: "err_code_off", Value: offs},
		{Name: "err_code_kinds", Value: kinds},
	}, nil
}

// errCodeSlots is ERR_CODES of query.c (TestSpec checks it against the
// spec's array sizes).
const errCodeSlots = 4

// Decoders implements probe.Probe.
func (Probe) Decoders(t *probe.Target) map[string]pipeline.Decoder {
	d := &decoder{
		cfg:      statementSettings(t),
		typeOf:   t.ItabType,
		errType:  t.ErrorType,
		fallback: systemOfModules(t.Bin.Modules()),
	}
	return map[string]pipeline.Decoder{"db_query": d.decode}
}

// KernelTests implements probe.Probe: against SQLite (no PostgreSQL
// server in the VM; CI runs that on the host); TestUnprivileged runs
// cmd/sonde as uid 65534.
func (Probe) KernelTests() probe.KernelTests {
	return probe.KernelTests{
		Tests: []string{"TestSpec", "TestDBAppSpans", "TestTodoExample", "TestUnprivileged", "TestErrorAtSpillSite"},
		Skip:  "TestTodoExample/postgresql|TestDBAppSpans/postgresql|TestUnprivileged/postgresql|TestErrorAtSpillSite/postgresql",
		Fixtures: map[string]string{
			"dbapp": "./probes/databasesql/testdata/dbapp",
			"todo":  "./examples/todo",
			"sonde": "./cmd/sonde",
		},
	}
}
