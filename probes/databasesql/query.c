//go:build ignore

// database/sql client spans: the Query/Exec methods of DB, Tx, Conn and Stmt,
// entry and every return. The ctx-less and QueryRow variants call these.
#include "sonde/inflight.h"
#include "sonde/retarg.h"

EVENT_KIND(db_query);

// Longest statement copied; longer ones are truncated (query_len says by
// how much) and still reported.
#define QUERY_MAX 4096
// Longest data source name copied (only parsed for server.address/port).
#define DSN_MAX 256
// Error types whose database status code is read: see err_code_*.
#define ERR_CODES 4

enum err_code_kind {
	ERR_CODE_NONE = 0,
	ERR_CODE_STRING = 1, // a Go string, e.g. lib/pq's SQLSTATE
	ERR_CODE_INT = 2,    // a Go int, e.g. modernc.org/sqlite's result code
	ERR_CODE_U16 = 3,    // a uint16, e.g. go-sql-driver/mysql's number
};

// Field offsets, set by the loader from the target's DWARF.
volatile const u64 db_connector_off = 0;      // DB.connector
volatile const u64 dsn_connector_dsn_off = 0; // dsnConnector.dsn
volatile const u64 dsn_connector_drv_off = 0; // dsnConnector.driver
volatile const u64 tx_db_off = 0;             // Tx.db
volatile const u64 conn_db_off = 0;           // Conn.db
volatile const u64 stmt_db_off = 0;           // Stmt.db
volatile const u64 stmt_query_off = 0;        // Stmt.query
// Runtime address of the driver.Connector itab of database/sql.dsnConnector,
// what sql.Open makes for drivers without OpenConnector.
volatile const u64 itab_dsn_connector = 0;
// Error types (their error itab) whose code is read at an offset.
volatile const u64 err_code_tab[ERR_CODES] = {};
volatile const u64 err_code_off[ERR_CODES] = {};
volatile const u64 err_code_kinds[ERR_CODES] = {};

struct db_query_event {
	struct event_header hdr;
	u64 driver_tab; // itab of the driver (sql.Open) or of the connector
	u64 err_tab;    // itab of the returned error; 0: no error
	u64 err_data;   // its data word
	s64 err_num;    // numeric database code (err_kind INT, U16)
	u32 query_len;  // length in the target; the bytes follow the event
	u32 dsn_len;    // length in the target
	u32 err_kind;   // enum err_code_kind of what was read
	u32 pad;
	u8 err_code[16]; // string database code (err_kind STRING)
	u8 dsn[DSN_MAX];
};

struct db_inflight {
	struct span_head head; // call.a: receiver, call.b: context data pointer
	struct db_query_event ev;
	u8 query[QUERY_MAX]; // emitted right after ev, only the bytes copied
};

_Static_assert(sizeof(struct db_query_event) % 8 == 0, "query follows the event aligned");

G_SPAN_INFLIGHT(db, struct db_inflight, BPF_F_NO_PREALLOC);

// Force the event type into BTF for bpf2go -type.
const struct db_query_event *unused_db_query_event __attribute__((unused));
const enum err_code_kind *unused_err_code_kind __attribute__((unused));

// Where the receiver leads to the *DB, and where the statement is.
enum recv_kind {
	RECV_DB,
	RECV_TX,
	RECV_CONN,
	RECV_STMT,
};

// What read_connector found for one *DB, kept: a DB's connector does not
// change, and reading it costs three reads (about 145 ns each).
struct connector_info {
	struct go_iface conn; // DB.connector when read
	u64 driver_tab;
	u32 dsn_len;
	u32 pad;
	u8 dsn[DSN_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, u64); // *DB
	__type(value, struct connector_info);
	__uint(max_entries, 256);
} db_connectors SEC(".maps");

// One all-zero connector_info, never written: what a new entry starts as.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, u32);
	__type(value, struct connector_info);
	__uint(max_entries, 1);
} db_connector_zero SEC(".maps");

// read_connector records which driver db uses and, for sql.Open's
// dsnConnector, its data source name: from db_connectors while db still
// has the connector seen then (a freed DB's address reused by another
// has its own), else from the target.
static __always_inline void read_connector(struct db_query_event *ev, u64 db)
{
	struct go_iface c = {};
	if (!db || bpf_probe_read_user(&c, sizeof(c), (void *)(db + db_connector_off)))
		return;
	struct connector_info *ci = bpf_map_lookup_elem(&db_connectors, &db);
	if (ci && ci->conn.tab == c.tab && ci->conn.data == c.data) {
		ev->driver_tab = ci->driver_tab;
		ev->dsn_len = ci->dsn_len;
		__builtin_memcpy(ev->dsn, ci->dsn, sizeof(ev->dsn));
		return;
	}
	ev->driver_tab = c.tab;
	if (c.tab && c.tab == itab_dsn_connector) {
		ev->driver_tab = read_u64(c.data + dsn_connector_drv_off);
		struct go_string dsn = {};
		if (bpf_probe_read_user(&dsn, sizeof(dsn), (void *)(c.data + dsn_connector_dsn_off)))
			return;
		ev->dsn_len = dsn.len;
		read_go_string(ev->dsn, dsn.ptr, dsn.len);
	}
	// Built in place from the event: no 300-byte value on the stack.
	u32 zero = 0;
	struct connector_info *z = bpf_map_lookup_elem(&db_connector_zero, &zero);
	if (!z || bpf_map_update_elem(&db_connectors, &db, z, BPF_ANY))
		return;
	ci = bpf_map_lookup_elem(&db_connectors, &db);
	if (!ci)
		return;
	ci->conn = c;
	ci->driver_tab = ev->driver_tab;
	ci->dsn_len = ev->dsn_len;
	__builtin_memcpy(ci->dsn, ev->dsn, sizeof(ci->dsn));
}

static __always_inline int query_entry(struct pt_regs *ctx, enum recv_kind kind)
{
	u64 goid = goroutine_id(ctx);
	// All methods take (recv, ctx context.Context, ...): DB, Tx and Conn
	// then take query string; Stmt keeps its query.
	u64 recv = go_arg(ctx, 1);
	struct go_iface cctx = {.tab = go_arg(ctx, 2), .data = go_arg(ctx, 3)};
	struct db_inflight *f = g_span_begin(db, goid, recv, cctx.data, event_kind_db_query);
	if (!f)
		return 0;
	struct db_query_event *ev = &f->ev;

	u64 db = recv;
	struct go_string q = {};
	switch (kind) {
	case RECV_DB:
		break;
	case RECV_TX:
		db = read_u64(recv + tx_db_off);
		break;
	case RECV_CONN:
		db = read_u64(recv + conn_db_off);
		break;
	case RECV_STMT:
		db = read_u64(recv + stmt_db_off);
		break;
	}
	if (kind == RECV_STMT) {
		bpf_probe_read_user(&q, sizeof(q), (void *)(recv + stmt_query_off));
	} else {
		q.ptr = go_arg(ctx, 4);
		q.len = go_arg(ctx, 5);
	}
	u64 n = q.len < 0 ? 0 : (u64)q.len;
	ev->query_len = n;
	if (n > QUERY_MAX)
		n = QUERY_MAX;
	if (n > 0 && bpf_probe_read_user(f->query, n, (void *)q.ptr))
		ev->query_len = 0;
	read_connector(ev, db);

	// Active on the goroutine only: the ctx is usually the caller's, shared
	// with its siblings (and often the server span's own key), so
	// registering under it would parent concurrent siblings here.
	span_start(f, &cctx, 0, goid);
	return 0;
}

// read_err_code reads the database's code out of a known error type.
static __always_inline void read_err_code(struct db_query_event *ev, u64 data)
{
	for (int i = 0; i < ERR_CODES; i++) {
		if (!err_code_tab[i] || err_code_tab[i] != ev->err_tab)
			continue;
		u64 addr = data + err_code_off[i];
		switch (err_code_kinds[i]) {
		case ERR_CODE_STRING:
			read_go_string_at(ev->err_code, addr);
			ev->err_kind = ERR_CODE_STRING;
			break;
		case ERR_CODE_INT:
			ev->err_num = read_u64(addr);
			ev->err_kind = ERR_CODE_INT;
			break;
		case ERR_CODE_U16: {
			u16 v = 0;
			bpf_probe_read_user(&v, sizeof(v), (void *)addr);
			ev->err_num = v;
			ev->err_kind = ERR_CODE_U16;
			break;
		}
		}
		return;
	}
}

// query_return ends the span; the error is the results errreg, errreg+1
// (ret_arg: in their registers, or where a caller stored them).
static __always_inline int query_return(struct pt_regs *ctx, int errreg)
{
	u64 goid = goroutine_id(ctx);
	struct db_inflight *f = g_span_lookup(db, goid);
	if (!f)
		return 0;
	struct db_query_event *ev = &f->ev;
	ev->err_tab = ret_arg(ctx, errreg);
	ev->err_data = ret_arg(ctx, errreg + 1);
	if (ev->err_tab)
		read_err_code(ev, ev->err_data);

	u64 n = ev->query_len;
	if (n > QUERY_MAX)
		n = QUERY_MAX;
	g_span_end(db, goid, f, sizeof(*ev) + n);
	return 0;
}

SEC("uprobe/DB_query")
int db_entry(struct pt_regs *ctx) { return query_entry(ctx, RECV_DB); }

SEC("uprobe/Tx_query")
int tx_entry(struct pt_regs *ctx) { return query_entry(ctx, RECV_TX); }

SEC("uprobe/Conn_query")
int conn_entry(struct pt_regs *ctx) { return query_entry(ctx, RECV_CONN); }

SEC("uprobe/Stmt_query")
int stmt_entry(struct pt_regs *ctx) { return query_entry(ctx, RECV_STMT); }

// QueryContext returns (*Rows, error).
SEC("uprobe/query_return")
int query_ret(struct pt_regs *ctx) { return query_return(ctx, 2); }

// ExecContext returns (Result, error).
SEC("uprobe/exec_return")
int exec_ret(struct pt_regs *ctx) { return query_return(ctx, 3); }
