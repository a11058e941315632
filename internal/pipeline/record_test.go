package pipeline

import (
	"encoding/binary"
	"errors"
	"structs"
	"testing"
)

// bpfEvent has the shape of a bpf2go-generated struct.
type bpfEvent struct {
	_     structs.HostLayout
	Kind  uint32
	_     [4]byte
	Start uint64
	Name  [8]int8
	Ok    bool
	_     [7]byte
}

func TestDecode(t *testing.T) {
	raw := make([]byte, 40) // longer than bpfEvent: trailing bytes are ignored
	binary.LittleEndian.PutUint32(raw[0:], 7)
	binary.LittleEndian.PutUint64(raw[8:], 0x0102030405060708)
	copy(raw[16:], "abc")
	raw[24] = 1
	var ev bpfEvent
	if err := Decode(raw, &ev); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if ev.Kind != 7 || ev.Start != 0x0102030405060708 || ev.Name[2] != 'c' || !ev.Ok {
		t.Fatalf("Decode = %+v", ev)
	}
}

func TestDecodeShort(t *testing.T) {
	var ev bpfEvent
	err := Decode(make([]byte, 31), &ev)
	if !errors.Is(err, ErrShortRecord) {
		t.Fatalf("Decode(31 bytes) = %v, want ErrShortRecord", err)
	}
}

func TestDecodeRefusesPointers(t *testing.T) {
	type bad struct {
		Kind uint32
		Name string
	}
	var v bad
	if err := Decode(make([]byte, 64), &v); !errors.Is(err, errNotPlain) {
		t.Fatalf("Decode into a struct with a string = %v, want errNotPlain", err)
	}
	var s []byte
	if err := Decode(make([]byte, 64), &s); !errors.Is(err, errNotPlain) {
		t.Fatalf("Decode into a slice = %v, want errNotPlain", err)
	}
}

func TestCString(t *testing.T) {
	for _, tc := range []struct {
		in   []byte
		want string
	}{
		{nil, ""},
		{[]byte{0, 'a'}, ""},
		{[]byte("GET\x00\x00junk"), "GET"},
		{[]byte("full"), "full"},
	} {
		if got := CString(tc.in); got != tc.want {
			t.Errorf("CString(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSpanContext(t *testing.T) {
	tid := [16]byte{1, 2, 3}
	sid := [8]byte{4, 5}
	sc := SpanContext(tid, sid)
	if !sc.IsValid() || !sc.IsSampled() || sc.TraceID() != TraceID(tid) || sc.SpanID() != SpanID(sid) {
		t.Fatalf("SpanContext = %+v", sc)
	}
	if sc := SpanContext(tid, [8]byte{}); sc.IsValid() || sc.IsSampled() {
		t.Fatalf("SpanContext with zero span ID = %+v, want empty", sc)
	}
	if sc := SpanContext([16]byte{}, sid); sc.IsValid() {
		t.Fatalf("SpanContext with zero trace ID = %+v, want empty", sc)
	}
}

func BenchmarkDecode(b *testing.B) {
	type big struct {
		Kind uint32
		_    [4]byte
		Buf  [424]byte
	}
	raw := make([]byte, 432)
	var v big
	for b.Loop() {
		if err := Decode(raw, &v); err != nil {
			b.Fatal(err)
		}
	}
}
