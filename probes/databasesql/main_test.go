package databasesql

import (
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

// TestMain removes the fixtures testenv.Build made (for this package's
// tests and its databasesql_test ones: one test binary).
func TestMain(m *testing.M) { testenv.Main(m) }
