package process

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestExePathAndFile(t *testing.T) {
	bin := copyFixture(t, "exe")
	tg := startTarget(t, bin)

	want, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExePath(tg.pid())
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("ExePath = %q, want %q", got, want)
	}

	if ExeFile(tg.pid()) != "/proc/"+itoa(tg.pid())+"/exe" {
		t.Errorf("ExeFile = %q", ExeFile(tg.pid()))
	}
	a, err := os.Stat(ExeFile(tg.pid()))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(a, b) {
		t.Error("ExeFile is not the fixture binary")
	}
}

func TestFindExe(t *testing.T) {
	bin := copyFixture(t, "exe")
	tg := startTarget(t, bin)
	tg2 := startTarget(t, bin)
	want := []int{tg.pid(), tg2.pid()}
	slices.Sort(want)

	dir := filepath.Dir(bin)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, path := range []string{bin, link, "target", "./link"} {
		got, err := FindExe(path)
		if err != nil {
			t.Fatalf("FindExe(%q): %v", path, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("FindExe(%q) = %v, want %v", path, got, want)
		}
	}

	// Another file with the same content is another executable.
	other := copyFixture(t, "exe")
	if got, err := FindExe(other); err != nil || len(got) != 0 {
		t.Errorf("FindExe(copy) = %v, %v; want none", got, err)
	}
	if _, err := FindExe(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FindExe(missing) error = %v, want ErrNotExist", err)
	}
}

func TestWaitExe(t *testing.T) {
	bin := copyFixture(t, "exe")
	started := make(chan int, 1)
	go func() {
		// Part of what is tested, not a wait for a condition: the target
		// starts only after WaitExe has polled for a while and found nothing.
		time.Sleep(300 * time.Millisecond)
		cmd := startCmd(t, bin)
		started <- cmd
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pid, err := WaitExe(ctx, bin, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if want := <-started; pid != want {
		t.Errorf("WaitExe = %d, want %d", pid, want)
	}
}

func TestWaitExeCancelled(t *testing.T) {
	// Not there yet: keeps waiting until ctx ends.
	missing := filepath.Join(t.TempDir(), "not-yet")
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := WaitExe(ctx, missing, 20*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitExe = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("returned after %v, before the deadline", d)
	}
}

// startCmd starts bin (waiting on stdin) without reading its output, and
// returns its PID; it is killed at cleanup.
func startCmd(t *testing.T, bin string) int {
	cmd := exec.Command(bin)
	if _, err := cmd.StdinPipe(); err != nil {
		t.Error(err)
		return 0
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return 0
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

func itoa(i int) string { return strconv.Itoa(i) }
