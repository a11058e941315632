package process

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

func TestAliveAndWaitExit(t *testing.T) {
	for _, tc := range []struct {
		name string
		wait func(context.Context, int) error
	}{
		{"pidfd", WaitExit},
		{"poll", waitExitPoll},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := startTarget(t, fixture(t, "exe"))
			pid := tg.pid()
			if !Alive(pid) {
				t.Fatal("running process is not Alive")
			}

			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			err := tc.wait(ctx, pid)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("wait on a running process = %v, want DeadlineExceeded", err)
			}

			done := make(chan error, 1)
			go func() { done <- tc.wait(context.Background(), pid) }()
			// Part of what is tested: the process exits while wait is
			// already waiting (there is nothing to observe that it is).
			time.Sleep(50 * time.Millisecond)
			tg.finish(t)
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("wait did not return after the process exited")
			}
			// Not reaped yet: a zombie is not alive.
			if Alive(pid) {
				t.Error("zombie is Alive")
			}
			tg.cmd.Wait()
			if Alive(pid) {
				t.Error("reaped process is Alive")
			}
			if err := tc.wait(context.Background(), pid); err != nil {
				t.Errorf("wait on a reaped process = %v", err)
			}
		})
	}
}

func TestAliveEdgeCases(t *testing.T) {
	if !Alive(os.Getpid()) {
		t.Error("this process is not Alive")
	}
	if Alive(0) || Alive(-1) {
		t.Error("nonsense PIDs are Alive")
	}
}
