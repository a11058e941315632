package process

import (
	"errors"
	"maps"
	"testing"
)

func TestEnviron(t *testing.T) {
	tg := startTarget(t, fixture(t, "exe"), "SONDE_TEST_VAR=a=b c", "SONDE_TEST_EMPTY=")
	env, err := Environ(tg.pid())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := env["SONDE_TEST_VAR"]; !ok || v != "a=b c" {
		t.Errorf("SONDE_TEST_VAR = %q, %v", v, ok)
	}
	if v, ok := env["SONDE_TEST_EMPTY"]; !ok || v != "" {
		t.Errorf("SONDE_TEST_EMPTY = %q, %v", v, ok)
	}
}

func TestEnvironExited(t *testing.T) {
	tg := startTarget(t, fixture(t, "exe"))
	tg.finish(t)
	tg.cmd.Wait()
	if _, err := Environ(tg.pid()); !errors.Is(err, ErrExited) {
		t.Errorf("Environ of exited process: %v, want ErrExited", err)
	}
}

func TestParseEnviron(t *testing.T) {
	got := parseEnviron([]byte("A=1\x00B=x=y\x00A=2\x00noequals\x00=bad\x00C=\x00"))
	want := map[string]string{"A": "1", "B": "x=y", "C": ""}
	if !maps.Equal(got, want) {
		t.Errorf("parseEnviron = %v, want %v", got, want)
	}
}
