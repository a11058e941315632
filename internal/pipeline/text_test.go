package pipeline

import "testing"

func TestTextValidUTF8(t *testing.T) {
	for _, c := range []struct {
		in        []byte
		truncated bool
		want      string
	}{
		{[]byte("/caf\xc3\xa9"), false, "/café"},
		{[]byte("/caf\xc3"), true, "/caf"},        // é cut by the copy limit
		{[]byte("/caf\xc3"), false, "/caf\uFFFD"}, // broken in the target itself
		{[]byte("a\xffb"), false, "a\uFFFDb"},
	} {
		if got := Text(c.in, c.truncated); got != c.want {
			t.Errorf("Text(%q, %v) = %q, want %q", c.in, c.truncated, got, c.want)
		}
	}
	if got := CString([]byte("x\xc3")); got != "x" {
		t.Errorf("CString of a full buffer ending mid-character = %q", got)
	}
	if got := CString([]byte("x\xff\x00zz")); got != "x\uFFFD" {
		t.Errorf("CString = %q", got)
	}
}
