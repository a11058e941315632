package databasesql

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
)

// The spec has every program the hooks name and every variable Vars sets,
// with the C array sizes the Go side assumes.
func TestSpec(t *testing.T) {
	spec, err := Probe{}.Spec()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range (Probe{}).Hooks() {
		for _, p := range []string{h.Entry, h.Return} {
			if spec.Programs[p] == nil {
				t.Errorf("hook %s: program %q not in the spec", h.Symbol, p)
			}
		}
	}
	for name, size := range map[string]uint32{
		"err_code_tab": 8 * errCodeSlots, "err_code_off": 8 * errCodeSlots, "err_code_kinds": 8 * errCodeSlots,
		"db_connector_off": 8, "itab_dsn_connector": 8, "stmt_query_off": 8,
	} {
		v := spec.Variables[name]
		if v == nil || v.Size() != size {
			t.Errorf("variable %s: %v, want %d bytes", name, v, size)
		}
	}
	if len(errCodes) > errCodeSlots {
		t.Errorf("%d error types for %d slots", len(errCodes), errCodeSlots)
	}
	if m := spec.Maps["db_inflight"]; m == nil || int(m.ValueSize) < eventSize+queryMax {
		t.Errorf("db_inflight: %v", m)
	}
}

// target opens an executable as a probe target (not running), with the
// offsets of the probe's fields that its DWARF has.
func target(t *testing.T, path string) (*probe.Target, offsets.Table) {
	t.Helper()
	bin, err := binary.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	tg := &probe.Target{Exe: path, Bin: bin}
	d, err := bin.DWARF()
	if err != nil {
		return tg, offsets.Table{}
	}
	tg.DWARF = d
	_, optional := Probe{}.Fields()
	offs, err := offsets.FromDWARF(d, optional)
	var miss *offsets.MissingError
	if err != nil && !errors.As(err, &miss) {
		t.Fatal(err)
	}
	return tg, offs
}

// buildFixture builds testdata/dbapp (test binaries have no DWARF).
func buildFixture(t *testing.T) string {
	t.Helper()
	return testenv.Build(t, "testdata/dbapp")
}

func TestVars(t *testing.T) {
	tg, offs := target(t, buildFixture(t))
	vars, err := Probe{}.Vars(tg, offs)
	if err != nil {
		t.Fatalf("Vars: %v", err)
	}
	got := map[string]any{}
	for _, v := range vars {
		got[v.Name] = v.Value
	}
	if got["itab_dsn_connector"] == uint64(0) {
		t.Error("itab_dsn_connector is 0: sql.Open's connector itab not found")
	}
	tabs := got["err_code_tab"].([errCodeSlots]uint64)
	kinds := got["err_code_kinds"].([errCodeSlots]uint64)
	if tabs[0] != tg.Itab("*github.com/lib/pq.Error", "error") || tabs[0] == 0 || kinds[0] != uint64(errCodeString) {
		t.Errorf("err_code_tab %x, kinds %v: want lib/pq's *Error first, read as a string", tabs, kinds)
	}
	if got["stmt_query_off"] == uint64(0) && got["stmt_db_off"] == uint64(0) {
		t.Error("Stmt offsets both 0")
	}

	// Offsets missing: an error that names them.
	var miss *offsets.MissingError
	if _, err := (Probe{}).Vars(tg, offsets.Table{}); !errors.As(err, &miss) || len(miss.Fields) != 5 {
		t.Errorf("Vars with no offsets: %v, want the 5 missing fields of DB, Tx, Conn and Stmt", err)
	}
	// Without sql.Open's connector offsets, the probe still loads.
	delete(offs, dsnConnDSN)
	vars, err = Probe{}.Vars(tg, offs)
	for _, v := range vars {
		if v.Name == "itab_dsn_connector" && v.Value != uint64(0) {
			t.Errorf("itab_dsn_connector %#x with no dsnConnector offsets", v.Value)
		}
	}
	if err != nil {
		t.Errorf("Vars without dsnConnector offsets: %v", err)
	}
}

// A program without database/sql is reported as not linked.
func TestVarsNotLinked(t *testing.T) {
	gofmt := filepath.Join(runtime.GOROOT(), "bin", "gofmt")
	_, err := os.Stat(gofmt)
	testenv.Require(t, err == nil, "no gofmt binary to inspect: %v", err)
	tg, offs := target(t, gofmt)
	if _, err := (Probe{}).Vars(tg, offs); !errors.Is(err, probe.ErrNotLinked) {
		t.Errorf("Vars of gofmt: %v, want ErrNotLinked", err)
	}
}
