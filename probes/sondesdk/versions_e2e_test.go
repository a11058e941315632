package sondesdk_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
			dir := t.TempDir()
			src, err := os.ReadFile("testdata/sdkapp/main.go")
			if err != nil {
				t.Fatal(err)
			}
			mod := "module sdkapp\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel " + v +
				"\n\tgo.opentelemetry.io/otel/trace " + v + "\n\tgithub.com/sonde-go/auto/sdk v0.0.0\n)\n\n" +
				"replace github.com/sonde-go/auto/sdk => " + sdkDir + "\n"
			os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644)
			os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644)
			tidy := exec.Command("go", "mod", "tidy")
			tidy.Dir = dir
			tidy.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
			out, err := tidy.CombinedOutput()
			testenv.Require(t, err == nil, "go mod tidy with otel %s (needs the module proxy): %v\n%s", v, err, out)
			if m, _ := os.ReadFile(filepath.Join(dir, "go.mod")); !strings.Contains(string(m), "go.opentelemetry.io/otel "+v) {
				t.Fatalf("tidy moved otel off %s:\n%s", v, m)
			}
			proc := e2etest.Start(t, testenv.Build(t, dir))
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
