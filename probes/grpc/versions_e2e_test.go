package grpc_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/grpc"
)

// grpcVersions are the grpc-go releases the one-process scenario runs on
// besides the main module's (v1.85.0): the oldest supported, the first
// with transport.ServerStream (v1.69, where WriteStatus became
// writeStatus), and one between.
var grpcVersions = []string{"v1.60.0", "v1.64.0", "v1.69.0", "v1.77.0"}

// buildWithGRPC builds testdata/grpcapp in a module of its own that
// requires grpc at version v (through the module proxy).
func buildWithGRPC(t *testing.T, v string, opts ...testenv.Option) string {
	t.Helper()
	return testenv.BuildModule(t, "testdata/grpcapp", []string{"google.golang.org/grpc " + v},
		append([]testenv.Option{testenv.Name("grpcapp-" + v)}, opts...)...)
}

// TestVersions: the one-process scenario on grpc releases across the
// supported range.
func TestVersions(t *testing.T) {
	testenv.RequireRoot(t)
	for _, v := range grpcVersions {
		t.Run(v, func(t *testing.T) { runOneProcess(t, buildWithGRPC(t, v)) })
	}
	// An older Go: classic maps (the metadata walk) and the DWARF of Go 1.22.
	t.Run("v1.64.0-go1.22", func(t *testing.T) {
		runOneProcess(t, buildWithGRPC(t, "v1.64.0", testenv.Toolchain(testenv.Go122), testenv.Name("grpcapp-v1.64.0-go1.22")))
	})
}

// TestTooOld: a release older than the oldest checked is refused with the
// version, before anything is loaded.
func TestTooOld(t *testing.T) {
	bin, err := binary.Open(buildWithGRPC(t, "v1.59.0"))
	if err != nil {
		t.Fatal(err)
	}
	defer bin.Close()
	tg := &probe.Target{Bin: bin}
	for _, p := range []probe.Probe{grpc.Server{}, grpc.Client{}} {
		_, err := p.Vars(tg, nil)
		if !errors.Is(err, probe.ErrUnsupportedVersion) || !strings.Contains(err.Error(), "unsupported grpc version v1.59.0") {
			t.Errorf("%s: Vars = %v, want unsupported grpc version v1.59.0", p.Name(), err)
		}
	}
}
