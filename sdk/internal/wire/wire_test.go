package wire

import (
	"encoding/binary"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 2, "ab"},
		{"aé", 2, "a"}, // é is two bytes: not cut in half
		{"aé", 3, "aé"},
		{"€", 2, ""},
	} {
		if got := Clip(c.s, c.n); got != c.want {
			t.Errorf("Clip(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func u32(b []byte, off int) int { return int(binary.LittleEndian.Uint32(b[off:])) }

// TestSpanBound feeds the encoder spans far past MaxSize in every shape and
// checks it stays within MaxSize, keeps the header and counts what it drops.
func TestSpanBound(t *testing.T) {
	huge := strings.Repeat("x", 1<<20)
	many := make([]string, 70000)
	for i := range many {
		many[i] = "abcdefgh"
	}
	long := make([]int64, 70000)
	cases := map[string]Span{
		"huge names": {Name: huge, StatusDesc: huge, Scope: huge, ScopeVersion: huge, SchemaURL: huge},
		"huge string value": {Attrs: []attribute.KeyValue{
			attribute.String("a", huge), attribute.String("b", "small"),
		}, Events: []Event{{Name: "e"}}},
		"huge string slice": {Attrs: []attribute.KeyValue{attribute.StringSlice("a", many)}},
		"huge int slice":    {Attrs: []attribute.KeyValue{attribute.Int64Slice("a", long)}},
		"huge event": {Events: []Event{
			{Name: huge, Attrs: []attribute.KeyValue{attribute.String("a", huge)}},
			{Name: "next"},
		}, Links: []trace.Link{{Attributes: []attribute.KeyValue{attribute.String("a", "b")}}}},
		"huge link": {Links: []trace.Link{
			{Attributes: []attribute.KeyValue{attribute.String("a", huge)}},
		}},
	}
	for name, s := range cases {
		b := AppendSpan(nil, &s)
		if len(b) > MaxSize {
			t.Errorf("%s: %d bytes", name, len(b))
		}
		if b[0] != Version || b[1] != TypeSpan {
			t.Errorf("%s: header %x", name, b[:2])
		}
		da, de, dl := u32(b, 20), u32(b, 24), u32(b, 28)
		if da+de+dl == 0 && name != "huge names" {
			t.Errorf("%s: nothing counted as dropped", name)
		}
		t.Logf("%s: %d bytes, dropped %d/%d/%d", name, len(b), da, de, dl)
	}
	// A huge attribute stops the attribute list, but not the events.
	s := cases["huge string value"]
	b := AppendSpan(nil, &s)
	if u32(b, 20) != 2 || u32(b, 24) != 0 {
		t.Errorf("huge string value: dropped %d attributes, %d events; want 2, 0", u32(b, 20), u32(b, 24))
	}
}

func TestAnnotationBound(t *testing.T) {
	huge := strings.Repeat("y", 100<<10)
	b := AppendSetAttributes(nil, []attribute.KeyValue{attribute.String("a", "b"), attribute.String("c", huge)}, 3)
	if len(b) > MaxSize || u32(b, 2) != 4 || binary.LittleEndian.Uint16(b[6:]) != 1 {
		t.Errorf("set attributes: %d bytes, dropped %d", len(b), u32(b, 2))
	}
	b = AppendAddEvent(nil, &Event{Name: huge, Attrs: []attribute.KeyValue{attribute.String("c", huge), attribute.Int("n", 1)}})
	if len(b) > MaxSize || binary.LittleEndian.Uint16(b[2:]) != MaxShort {
		t.Errorf("add event: %d bytes, name %d", len(b), binary.LittleEndian.Uint16(b[2:]))
	}
	if d := u32(b, 4+MaxShort+8); d != 2 {
		t.Errorf("add event: dropped %d, want 2 (from the first that does not fit)", d)
	}
}

func TestAppendAllocs(t *testing.T) {
	s := Span{Name: "op", Attrs: []attribute.KeyValue{attribute.String("a", "b"), attribute.Int("n", 1)},
		Events: []Event{{Name: "e", Attrs: []attribute.KeyValue{attribute.Bool("x", true)}}}}
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { _ = AppendSpan(buf, &s) }); n != 0 {
		t.Errorf("AppendSpan into a large enough buffer: %v allocs", n)
	}
}
