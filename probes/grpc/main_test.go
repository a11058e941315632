package grpc

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestMain removes the fixtures testenv.Build made.
func TestMain(m *testing.M) { testenv.Main(m) }
