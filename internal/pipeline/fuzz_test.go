package pipeline

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzText: whatever bytes a target leaves in a string field, CString and
// Text return valid UTF-8 that keeps every valid character before the cut.
func FuzzText(f *testing.F) {
	for _, s := range []string{"", "GET /users/{id}", "caf\xc3\xa9\x00junk", "\xe2\x82", "\xff\xfe\x00", "日本語\xe6\x97"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, truncated bool) {
		in := bytes.Clone(b)
		got := Text(b, truncated)
		if !utf8.ValidString(got) {
			t.Fatalf("Text(%q, %v) = %q: not valid UTF-8", in, truncated, got)
		}
		if !bytes.Equal(b, in) {
			t.Fatalf("Text changed its input: %q -> %q", in, b)
		}
		if utf8.Valid(in) && !truncated && got != string(in) {
			t.Fatalf("Text(%q) = %q, want it unchanged", in, got)
		}
		if len(got) > 3*len(in) {
			t.Fatalf("Text(%q) = %d bytes from %d", in, len(got), len(in))
		}
		c := CString(b)
		if !utf8.ValidString(c) || bytes.IndexByte([]byte(c), 0) >= 0 {
			t.Fatalf("CString(%q) = %q", in, c)
		}
		if i := bytes.IndexByte(in, 0); i >= 0 && utf8.Valid(in[:i]) && c != string(in[:i]) {
			t.Fatalf("CString(%q) = %q, want %q", in, c, in[:i])
		}
	})
}
