package offsets_test

import (
	"debug/dwarf"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/offsets"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is testdata/httpapp built by testenv.Build, once per test run.
type fixture []testenv.Option

var (
	fxHTTP     = fixture{testenv.Name("http")}
	fxStripped = fixture{testenv.Name("http-stripped"), testenv.Flags("-ldflags=-s -w")}
	// Go 1.22 has the classic map and other struct layouts; README.md
	// (Running the tests) says how to install it.
	fxGo122 = fixture{testenv.Name("http-go122"), testenv.Toolchain(testenv.Go122)}
)

func (fx fixture) dwarf(t testing.TB) (*dwarf.Data, error) {
	t.Helper()
	f, err := binary.Open(testenv.Build(t, "testdata/httpapp", fx...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f.DWARF()
}

var (
	reqMethod = offsets.Field{Struct: "net/http.Request", Name: "Method"}
	reqURL    = offsets.Field{Struct: "net/http.Request", Name: "URL"}
	reqCtx    = offsets.Field{Struct: "net/http.Request", Name: "ctx"}
	urlPath   = offsets.Field{Struct: "net/url.URL", Name: "Path"}
	gGoid     = offsets.Field{Struct: "runtime.g", Name: "goid"}
	cancelCtx = offsets.Field{Struct: "context.cancelCtx", Name: "Context"}
)

// oracle reads the offset of f through debug/dwarf's full type decoding.
func oracle(t *testing.T, d *dwarf.Data, f offsets.Field) uint64 {
	t.Helper()
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil || e == nil {
			t.Fatalf("struct %s not in DWARF: %v", f.Struct, err)
		}
		if e.Tag != dwarf.TagStructType || e.Val(dwarf.AttrName) != f.Struct {
			continue
		}
		typ, err := d.Type(e.Offset)
		if err != nil {
			t.Fatal(err)
		}
		for _, fld := range typ.(*dwarf.StructType).Field {
			if fld.Name == f.Name {
				return uint64(fld.ByteOffset)
			}
		}
		t.Fatalf("%s not in struct", f)
	}
}

func TestFromDWARF(t *testing.T) {
	d, err := fxHTTP.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	fields := []offsets.Field{reqMethod, reqURL, reqCtx, urlPath, gGoid, cancelCtx}
	tab, err := offsets.FromDWARF(d, fields)
	if err != nil {
		t.Fatalf("FromDWARF: %v", err)
	}
	if len(tab) != len(fields) {
		t.Errorf("FromDWARF returned %d offsets, want %d: %v", len(tab), len(fields), tab)
	}
	// The fixture is built by the toolchain running this test, so exported
	// fields have the offsets they have here.
	var req http.Request
	var u url.URL
	for f, want := range map[offsets.Field]uintptr{
		reqMethod: unsafe.Offsetof(req.Method),
		reqURL:    unsafe.Offsetof(req.URL),
		urlPath:   unsafe.Offsetof(u.Path),
	} {
		if got := tab.Get(f); got != uint64(want) {
			t.Errorf("%s = %d, want %d", f, got, want)
		}
	}
	for _, f := range fields {
		if got, want := tab.Get(f), oracle(t, d, f); got != want {
			t.Errorf("%s = %d, debug/dwarf says %d", f, got, want)
		}
	}
	if tab.Get(gGoid) == 0 || tab.Get(reqCtx) == 0 {
		t.Errorf("runtime.g.goid = %d, net/http.Request.ctx = %d: want non-zero", tab.Get(gGoid), tab.Get(reqCtx))
	}
}

func TestFromDWARFMissing(t *testing.T) {
	d, err := fxHTTP.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	noField := offsets.Field{Struct: "net/http.Request", Name: "noSuchField"}
	noStruct := offsets.Field{Struct: "example.com/none.T", Name: "X"}
	tab, err := offsets.FromDWARF(d, []offsets.Field{reqMethod, noField, urlPath, noStruct})
	var missing *offsets.MissingError
	if !errors.As(err, &missing) {
		t.Fatalf("FromDWARF = %v, want *MissingError", err)
	}
	if len(missing.Fields) != 2 || missing.Fields[0] != noField || missing.Fields[1] != noStruct {
		t.Errorf("missing = %v, want [%s %s]", missing.Fields, noField, noStruct)
	}
	want := "offsets not found: net/http.Request.noSuchField, example.com/none.T.X"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if _, ok := tab[urlPath]; !ok || len(tab) != 2 {
		t.Errorf("found offsets = %v, want Method and Path", tab)
	}
}

func TestSize(t *testing.T) {
	d, err := fxHTTP.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := offsets.Size(d, "net/url.URL"); err != nil || n != uint64(unsafe.Sizeof(url.URL{})) {
		t.Errorf("Size(net/url.URL) = %d, %v; want %d", n, err, unsafe.Sizeof(url.URL{}))
	}
	if n, err := offsets.Size(d, "net/http.Header"); err != nil || n != 8 {
		t.Errorf("Size(net/http.Header) = %d, %v; want 8 (a map)", n, err)
	}
	if n, err := offsets.Size(d, "internal/runtime/maps.Map"); err != nil || n == 0 {
		t.Errorf("Size(internal/runtime/maps.Map) = %d, %v", n, err)
	}
	if _, err := offsets.Size(d, "example.com/none.T"); !errors.Is(err, offsets.ErrNoType) {
		t.Errorf("Size(absent) = %v, want ErrNoType", err)
	}
}

// TestGo122 reads a program built by an older toolchain, whose layouts and
// map implementation differ.
func TestGo122(t *testing.T) {
	d, err := fxGo122.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	fields := []offsets.Field{reqMethod, reqURL, reqCtx, urlPath, gGoid, {Struct: "runtime.hmap", Name: "buckets"}}
	tab, err := offsets.FromDWARF(d, fields)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fields {
		if got, want := tab.Get(f), oracle(t, d, f); got != want {
			t.Errorf("%s = %d, debug/dwarf says %d", f, got, want)
		}
	}
	if _, err := offsets.Size(d, "internal/runtime/maps.Map"); !errors.Is(err, offsets.ErrNoType) {
		t.Errorf("Go 1.22 has a swiss map: %v", err)
	}
}

func TestNoDWARF(t *testing.T) {
	if _, err := fxStripped.dwarf(t); !errors.Is(err, binary.ErrNoDWARF) {
		t.Errorf("DWARF of a stripped program = %v, want ErrNoDWARF", err)
	}
}

// TestFromDWARFTime logs how long one pass takes, the cost a target pays at
// attach time.
func TestFromDWARFTime(t *testing.T) {
	d, err := fxHTTP.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = offsets.FromDWARF(d, []offsets.Field{reqMethod, reqCtx, urlPath, gGoid, {Struct: "none.T", Name: "X"}})
	t.Logf("FromDWARF, full pass (a missing field) on a net/http program: %v", time.Since(start))
	if err == nil || !strings.Contains(err.Error(), "none.T.X") {
		t.Errorf("FromDWARF = %v, want the missing field", err)
	}
}

func BenchmarkFromDWARF(b *testing.B) {
	d, err := fxHTTP.dwarf(b)
	if err != nil {
		b.Fatal(err)
	}
	fields := []offsets.Field{reqMethod, reqURL, reqCtx, urlPath, gGoid, cancelCtx}
	for b.Loop() {
		if _, err := offsets.FromDWARF(d, fields); err != nil {
			b.Fatal(err)
		}
	}
}

// TestDWARFIndex: the index finds what FromDWARF finds, missing fields
// and sizes included, for the fields of every probe.
func TestDWARFIndex(t *testing.T) {
	d, err := fxHTTP.dwarf(t)
	if err != nil {
		t.Fatal(err)
	}
	x, err := offsets.NewDWARFIndex(d)
	if err != nil {
		t.Fatal(err)
	}
	noField := offsets.Field{Struct: "net/http.Request", Name: "noSuchField"}
	noStruct := offsets.Field{Struct: "example.com/none.T", Name: "X"}
	size := offsets.Field{Struct: "net/url.URL", Name: offsets.SizeName}
	for _, fields := range [][]offsets.Field{
		{reqMethod, reqURL, reqCtx, urlPath, gGoid, cancelCtx, size},
		{reqMethod, noField, urlPath, noStruct},
	} {
		want, werr := offsets.FromDWARF(d, fields)
		got, gerr := x.Fields(fields)
		if fmt.Sprint(werr) != fmt.Sprint(gerr) || !maps.Equal(got, want) {
			t.Errorf("index: %v (%v), FromDWARF: %v (%v)", got, gerr, want, werr)
		}
	}
}
