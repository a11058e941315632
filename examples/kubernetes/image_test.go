package kubernetes

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestImage builds the image from the repository's Containerfile as `make
// image` does, with podman (which builds here; running containers does
// not), and checks its user, entrypoint, that /sonde is the only file, and
// its permitted file capabilities. Skipped when podman or setcap is not
// installed.
func TestImage(t *testing.T) {
	podman, err := exec.LookPath("podman")
	if err != nil {
		t.Skip("podman not installed (apt-get install podman)")
	}
	setcap, err := exec.LookPath("setcap")
	if err != nil {
		t.Skip("setcap not installed (apt-get install libcap2-bin)")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	ctxDir := t.TempDir()
	bin := filepath.Join(ctxDir, "sonde")
	run(t, root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/sonde")
	run(t, root, nil, setcap, "cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search+p", bin)

	tag := fmt.Sprintf("localhost/sonde-test:%d", time.Now().UnixNano())
	run(t, root, nil, podman, "build", "-q", "-t", tag, "-f", filepath.Join(root, "Containerfile"), ctxDir)
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", tag).Run() })

	out := run(t, root, nil, podman, "image", "inspect", tag)
	var images []struct {
		Config struct {
			User       string
			Entrypoint []string
			Cmd        []string
		}
	}
	if err := json.Unmarshal([]byte(out), &images); err != nil || len(images) != 1 {
		t.Fatalf("podman image inspect: %v\n%s", err, out)
	}
	cfg := images[0].Config
	if cfg.User != "65534:65534" {
		t.Errorf("image user %q, want 65534:65534 (non-root)", cfg.User)
	}
	if len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != "/sonde" || len(cfg.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want [/sonde] and none", cfg.Entrypoint, cfg.Cmd)
	}

	archive := filepath.Join(t.TempDir(), "image.tar")
	run(t, root, nil, podman, "save", "--format", "docker-archive", "-o", archive, tag)
	files, caps := imageFiles(t, archive)
	if len(files) != 1 || files[0] != "sonde" {
		t.Errorf("image files %v, want only sonde", files)
	}
	// vfs_cap_data revision 2: magic_etc, then permitted/inheritable
	// pairs of 32-bit words; no effective bit (sonde raises them).
	const capBPF, capPerfmon, capSysPtrace, capDacReadSearch = 39, 38, 19, 2
	if len(caps) < 20 {
		t.Fatalf("/sonde has no file capabilities (security.capability %q)", caps)
	}
	magic := binary.LittleEndian.Uint32(caps)
	perm := uint64(binary.LittleEndian.Uint32(caps[4:])) | uint64(binary.LittleEndian.Uint32(caps[12:]))<<32
	want := uint64(1)<<capBPF | 1<<capPerfmon | 1<<capSysPtrace | 1<<capDacReadSearch
	if magic&1 != 0 || perm != want {
		t.Errorf("file capabilities: magic %#x permitted %#x, want no effective bit and %#x", magic, perm, want)
	}
}

// imageFiles lists the regular files in the layers of a docker-archive
// and returns the security.capability xattr of /sonde.
func imageFiles(t *testing.T, archive string) (files []string, caps []byte) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	outer := tar.NewReader(f)
	for {
		h, err := outer.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(h.Name, ".tar") {
			continue
		}
		layer, err := io.ReadAll(outer)
		if err != nil {
			t.Fatal(err)
		}
		inner := tar.NewReader(bytes.NewReader(layer))
		for {
			lh, err := inner.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("layer %s: %v", h.Name, err)
			}
			if lh.Typeflag != tar.TypeReg {
				continue
			}
			name := strings.TrimPrefix(lh.Name, "./")
			files = append(files, name)
			if name == "sonde" {
				caps = []byte(lh.PAXRecords["SCHILY.xattr.security.capability"])
			}
		}
	}
	return files, caps
}

func run(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}
