package sondesdk_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/otlptest"
)

// TestOldOtel: the sdk serves apps on otel releases without the global
// API's auto path (before v1.33), down to the oldest the sdk supports.
func TestOldOtel(t *testing.T) {
	testenv.RequireRoot(t)
	sdkDir, err := filepath.Abs("../../sdk")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"v1.24.0", "v1.32.0"} {
		t.Run(v, func(t *testing.T) {
			bin := testenv.BuildModule(t, "testdata/sdkapp", []string{"go.opentelemetry.io/otel " + v,
				"go.opentelemetry.io/otel/trace " + v, "github.com/sonde-go/auto/sdk v0.0.0",
				"github.com/sonde-go/auto/sdk => " + sdkDir}, testenv.Name("sdkapp-otel-"+v))
			f, err := binary.Open(bin)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := f.Module("go.opentelemetry.io/otel")
			f.Close()
			if got != v {
				t.Fatalf("built with otel %s, want %s", got, v)
			}
			proc := e2etest.Start(t, bin)
			rcv := otlptest.Start(t)
			e2etest.Instrument(t, proc.Cmd.Process.Pid, rcv)
			base := "http://" + proc.Addr
			get(t, base+"/annotate")
			get(t, base+"/provider")
			spans := rcv.WaitSpans(t, 6, 20*time.Second)
			server, co := find(spans, "GET /annotate"), find(spans, "Checkout")
			if server.Str("user.id") != "u-42" || co.ParentID != find(spans, "GET /provider").SpanID {
				t.Errorf("annotated server span %v; Checkout parent %s", server.Attrs, co.ParentID)
			}
		})
	}
}
