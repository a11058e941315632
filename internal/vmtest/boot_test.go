package vmtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeQEMU writes a script that stands in for qemu: it checks that it got
// the kernel and initrd, then runs body.
func fakeQEMU(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	script := "#!/bin/sh\n" +
		`case "$*" in *"-kernel /k/vmlinuz -initrd /i/initrd.cpio"*) ;; *) echo "bad args: $*" >&2; exit 2;; esac` + "\n" +
		body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	fakeKernel = Kernel{Name: "k", Release: "6.1.0-1", Image: "/k/vmlinuz"}
	fakeInitrd = &Initrd{Path: "/i/initrd.cpio", Binaries: []string{"a"}, Timeout: time.Minute}
)

func TestBootPasses(t *testing.T) {
	qemu := fakeQEMU(t, `printf 'SONDE-KERNEL release=6.1.0-1 lockdown=none\r\na| ok\r\nSONDE-RESULT name=a exit=0 time=1s\r\nSONDE-DONE\r\n'`)
	var console strings.Builder
	res, err := Boot(context.Background(), fakeKernel, fakeInitrd, Options{QEMU: qemu, Console: &console})
	if err != nil {
		t.Fatal(err)
	}
	if res.Release != "6.1.0-1" || res.Binary("a") == nil || !res.Done {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(console.String(), "a| ok\n") {
		t.Errorf("console copy %q lacks the output line", console.String())
	}
}

func TestBootFails(t *testing.T) {
	cases := []struct {
		name string
		body string
		opts Options
		want error
	}{
		{"exit status", `echo "SONDE-RESULT name=a exit=1 time=1s"; echo SONDE-DONE`, Options{}, ErrTestFailed},
		{"crash", `echo "Kernel panic"`, Options{}, ErrIncomplete},
		{"no result", `echo SONDE-DONE`, Options{}, ErrMissingResult},
		{"timeout", `echo booting; sleep 30`, Options{Timeout: 300 * time.Millisecond}, ErrTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.opts.QEMU = fakeQEMU(t, c.body)
			start := time.Now()
			_, err := Boot(context.Background(), fakeKernel, fakeInitrd, c.opts)
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Boot took %s", d)
			}
		})
	}
}

func TestQEMUArgs(t *testing.T) {
	args := strings.Join(qemuArgs(fakeKernel, fakeInitrd, Options{Append: "x=1"}), " ")
	for _, want := range []string{"-accel tcg,thread=multi", "-m 3072", "-smp 2", "-no-reboot",
		"-serial stdio", "-append console=ttyS0 panic=-1 loglevel=5 x=1"} {
		if !strings.Contains(args, want) {
			t.Errorf("qemu args %q lack %q", args, want)
		}
	}
	if strings.Contains(args, "kvm") {
		t.Errorf("qemu args %q use KVM, which does not boot stock kernels here", args)
	}
}
