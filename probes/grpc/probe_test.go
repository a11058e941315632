package grpc_test

import (
	"debug/dwarf"
	"testing"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/grpc"
)

func target(t *testing.T, exe string) *probe.Target {
	t.Helper()
	bin, err := binary.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bin.Close() })
	d, err := bin.DWARF()
	if err != nil {
		t.Fatal(err)
	}
	return &probe.Target{Bin: bin, DWARF: d}
}

// TestRuntimeType: the type address read from DWARF is the one an itab of
// the same type points to, with the tests' Go and with Go 1.22; the
// embedded Stream of transport.ServerStream is a struct from v1.77 and a
// pointer in v1.69-v1.76.
func TestRuntimeType(t *testing.T) {
	for _, c := range []struct {
		name string
		exe  func() string
		kind dwarf.Tag
	}{
		{"v1.85.0", func() string { return testenv.Build(t, "testdata/grpcapp") }, dwarf.TagStructType},
		{"v1.64.0-go1.22", func() string {
			return buildWithGRPC(t, "v1.64.0", testenv.Toolchain(testenv.Go122), testenv.Name("grpcapp-v1.64.0-go1.22"))
		}, 0},
		{"v1.69.0", func() string { return buildWithGRPC(t, "v1.69.0") }, dwarf.TagPointerType},
	} {
		t.Run(c.name, func(t *testing.T) {
			tg := target(t, c.exe())
			typ := "*google.golang.org/grpc/internal/status.Error"
			want := tg.ItabTypeAddr(typ, "error")
			if got := grpc.RuntimeType(tg, typ); got == 0 || got != want {
				t.Errorf("RuntimeType(%s) = %#x, want %#x (from its itab)", typ, got, want)
			}
			if got := grpc.RuntimeType(tg, "google.golang.org/grpc/metadata.mdIncomingKey"); got == 0 {
				t.Errorf("no runtime type for metadata.mdIncomingKey")
			}
			k, ok := grpc.MemberKind(tg, grpc.ServerStreamEmb)
			if c.kind == 0 && ok || c.kind != 0 && (!ok || k != c.kind) {
				t.Errorf("MemberKind(%s) = %v, %v; want %v", grpc.ServerStreamEmb, k, ok, c.kind)
			}
		})
	}
}
