package probe_test

import (
	"bufio"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/probe"
)

// TestErrorType reads a running fixture: sentinels by name, other types by
// their name, errors.New and wrapping values as _OTHER.
func TestErrorType(t *testing.T) {
	cmd := exec.Command(testenv.Build(t, "testdata/errwords"))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var words [][2]uint64
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "ready" {
		f := strings.Fields(sc.Text())
		tab, _ := strconv.ParseUint(f[0], 10, 64)
		data, _ := strconv.ParseUint(f[1], 10, 64)
		words = append(words, [2]uint64{tab, data})
	}
	tg, err := probe.NewTarget(cmd.Process.Pid, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close()
	want := []string{"context.Canceled", "context.DeadlineExceeded", "io.EOF", "io.ErrUnexpectedEOF", "net.OpError", "_OTHER", "_OTHER"}
	if len(words) != len(want) {
		t.Fatalf("fixture printed %d errors", len(words))
	}
	for i, w := range words {
		if got := tg.ErrorType(w[0], w[1]); got != want[i] {
			t.Errorf("error %d: ErrorType = %q, want %q", i, got, want[i])
		}
	}
	if got := tg.ErrorType(0, 0); got != "" {
		t.Errorf("nil error: %q", got)
	}
}
