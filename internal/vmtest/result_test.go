package vmtest

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

const sampleConsole = `SeaBIOS (version 1.16.2)
[    0.9] mtrr: your CPUs had inconsistent fixed MTRR settings
SONDE-KERNEL release=6.1.0-56-cloud-amd64 lockdown=none
selftest| === RUN   TestUprobe
selftest|     --- SKIP: TestUprobe/uprobe_multi (0.02s)
selftest| --- PASS: TestUprobe (0.30s)
[    3.1] selftest.test[93] is installing a program with bpf_probe_write_user helper
selftest| PASS
[    3.2] a kernel message first SONDE-RESULT name=selftest exit=0 time=550ms
other| --- FAIL: TestX (0.00s)
SONDE-RESULT name=other exit=1 time=1.5s
SONDE-DONE
[    3.3] reboot: Power down`

func parse(console string) Result {
	var res Result
	p := newConsoleParser(&res)
	for _, l := range strings.Split(console, "\n") {
		p.line(l)
	}
	p.finish()
	return res
}

func TestConsoleParser(t *testing.T) {
	res := parse(sampleConsole)
	if res.Release != "6.1.0-56-cloud-amd64" || res.Lockdown != "none" {
		t.Errorf("release %q lockdown %q", res.Release, res.Lockdown)
	}
	if !res.Done {
		t.Error("done line not seen")
	}
	st := res.Binary("selftest")
	if st == nil {
		t.Fatal("no result for selftest")
	}
	if st.Exit != 0 || st.Duration.Milliseconds() != 550 {
		t.Errorf("selftest: exit %d time %s", st.Exit, st.Duration)
	}
	if want := []string{"=== RUN   TestUprobe", "    --- SKIP: TestUprobe/uprobe_multi (0.02s)", "--- PASS: TestUprobe (0.30s)", "PASS"}; !slices.Equal(st.Output, want) {
		t.Errorf("selftest output %q, want %q", st.Output, want)
	}
	if want := []string{"TestUprobe/uprobe_multi"}; !slices.Equal(st.Skipped, want) {
		t.Errorf("skipped %q, want %q", st.Skipped, want)
	}
	if res.Console != sampleConsole+"\n" {
		t.Error("console not kept whole")
	}

	err := res.Err([]string{"selftest", "other", "never"})
	if !errors.Is(err, ErrTestFailed) || !errors.Is(err, ErrMissingResult) {
		t.Errorf("Err = %v, want failed and missing", err)
	}
	if errors.Is(err, ErrIncomplete) {
		t.Errorf("Err = %v: done line was there", err)
	}
	if err := res.Err([]string{"selftest"}); err != nil {
		t.Errorf("Err(selftest) = %v", err)
	}
}

func TestConsoleParserIncomplete(t *testing.T) {
	res := parse("SONDE-KERNEL release=6.12.1 lockdown=none\nx| y\n[ 1.0] Kernel panic - not syncing")
	err := res.Err([]string{"x"})
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, ErrMissingResult) {
		t.Errorf("Err = %v, want incomplete and missing", err)
	}
	res = parse("SONDE-RESULT name=x exit=0 time=1s timeout=1\nSONDE-DONE")
	if err := res.Err([]string{"x"}); !errors.Is(err, ErrTestFailed) {
		t.Errorf("timed-out binary: Err = %v, want ErrTestFailed", err)
	}
}
