package process

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture builds testdata/target once per build mode ("exe" or "pie") and
// returns the binary's path.
func fixture(t *testing.T, mode string) string {
	t.Helper()
	return testenv.Build(t, "testdata/target", testenv.Name("target-"+mode), testenv.Flags("-buildmode="+mode))
}

// copyFixture copies the fixture to a fresh file, so that no other process
// on the machine runs the same inode.
func copyFixture(t *testing.T, mode string) string {
	t.Helper()
	data, err := os.ReadFile(fixture(t, mode))
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "target")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// target is a running fixture process.
type target struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	addr  uint64 // address of the global x
	value int64  // value of x at start
}

func (tg *target) pid() int { return tg.cmd.Process.Pid }

// startTarget starts bin with extra environment variables and reads the
// fixture's first line. The process is killed and reaped at cleanup.
func startTarget(t *testing.T, bin string, env ...string) *target {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tg := &target{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := tg.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading fixture's first line: %v", err)
	}
	if _, err := fmt.Sscanf(line, "%v %d", &tg.addr, &tg.value); err != nil {
		t.Fatalf("parsing %q: %v", line, err)
	}
	return tg
}

// finish lets the fixture print x once more and exit, and returns what it printed.
func (tg *target) finish(t *testing.T) string {
	t.Helper()
	if _, err := io.WriteString(tg.stdin, "\n"); err != nil {
		t.Fatal(err)
	}
	line, err := tg.out.ReadString('\n')
	if err != nil {
		t.Fatalf("reading fixture's last line: %v", err)
	}
	return strings.TrimSpace(line)
}
