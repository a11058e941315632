package vmtest

// Suite is the list of test binaries that the kernel matrix (make
// test-kernels, TestKernels) runs on every kernel. Add a probe package here
// once its tests run in the VM: their fixtures must come prebuilt through
// TestBinary.Builds or Files (there is no go command in the VM).
var Suite = []TestBinary{
	{
		Package: "./internal/vmtest/selftest",
		Args:    []string{"-test.v", "-test.count=1"},
	},
	{
		// Loads and attaches both net/http probes (perf-event uprobes on
		// 6.1, uprobe_multi on 6.12) and checks their spans end to end.
		Package: "./probes/nethttp",
		Args:    []string{"-test.v", "-test.count=1", "-test.short", "-test.run", "TestServerSpans|TestClientSpansNest|TestClientLoad|TestInject"},
		Builds: map[string]string{
			"server":    "./probes/nethttp/testdata/server",
			"fanout":    "./probes/nethttp/testdata/fanout",
			"propagate": "./probes/nethttp/testdata/propagate",
		},
	},
	{
		// The database/sql probe on both kernels, against SQLite (no
		// PostgreSQL server in the VM; CI runs that on the host).
		Package: "./probes/databasesql",
		Args:    []string{"-test.v", "-test.count=1", "-test.run", "TestSpec|TestDBAppSpans|TestTodoExample/^sqlite$"},
		Builds: map[string]string{
			"dbapp": "./probes/databasesql/testdata/dbapp",
			"todo":  "./examples/todo",
		},
	},
}
