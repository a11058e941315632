package vmenv

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// ManifestPath is where /init reads the manifest inside the VM.
const ManifestPath = "/tests/manifest.json"

// Manifest lists the test binaries that /init runs, in order.
type Manifest struct {
	Binaries []Binary `json:"binaries"`
}

// Binary is one test binary in the VM.
type Binary struct {
	// Name identifies the binary in console lines; [A-Za-z0-9_.-]+.
	Name string `json:"name"`
	// Path is the executable inside the VM.
	Path string `json:"path"`
	// Args are passed to the binary.
	Args []string `json:"args,omitempty"`
	// Env is added to the environment /init builds ("K=V").
	Env []string `json:"env,omitempty"`
	// Dir is the working directory (it holds the package's testdata).
	Dir string `json:"dir"`
	// FixtureDir is exported to the binary as EnvFixtureDir.
	FixtureDir string `json:"fixtureDir"`
	// Timeout bounds the binary's run; /init kills it after that.
	Timeout time.Duration `json:"timeout"`
}

// ReadManifest reads and decodes the manifest at path.
func ReadManifest(path string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(path)
	if err != nil {
		return m, fmt.Errorf("reading manifest: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("decoding manifest %s: %w", path, err)
	}
	return m, nil
}
