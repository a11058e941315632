package kafkago_test

import (
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
	return testenv.BuildModule(t, dir, []string{"github.com/segmentio/kafka-go " + v},
		testenv.Name(filepath.Base(dir)+"-"+v))
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
