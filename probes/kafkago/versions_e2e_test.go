package kafkago_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// kafkaVersions are the kafka-go releases tested besides the main module's
// (v0.4.51): the oldest the module proxy serves and one between.
var kafkaVersions = []string{"v0.4.42", "v0.4.47"}

// buildWith builds the fixture in dir in a module of its own that requires
// kafka-go at version v (through the module proxy).
func buildWith(t *testing.T, dir, v string) string {
	t.Helper()
	tmp := t.TempDir()
	src, err := os.ReadFile(filepath.Join(dir, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	mod := "module fixture\n\ngo 1.22\n\nrequire github.com/segmentio/kafka-go " + v + "\n"
	os.WriteFile(filepath.Join(tmp, "main.go"), src, 0o644)
	os.WriteFile(filepath.Join(tmp, "go.mod"), []byte(mod), 0o644)
	tidy := exec.Command("go", "mod", "tidy")
	tidy.Dir = tmp
	tidy.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := tidy.CombinedOutput()
	testenv.Require(t, err == nil, "go mod tidy with kafka-go %s (needs the module proxy): %v\n%s", v, err, out)
	return testenv.Build(t, tmp)
}

// TestKafkaVersions: the same spans from older kafka-go releases.
func TestKafkaVersions(t *testing.T) {
	for _, v := range kafkaVersions {
		t.Run(v, func(t *testing.T) {
			base, consBase, rcv := kafkaApps(t, buildWith(t, "testdata/producer", v), buildWith(t, "testdata/consumer", v), "orders", "own")
			checkKafka(t, base, consBase, rcv)
		})
	}
}
