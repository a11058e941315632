package gslottest

import (
	"os"
	"testing"

	"github.com/cilium/ebpf"
)

const (
	opFind   = 1
	opClaim  = 2
	opDrop   = 3
	opDropAt = 4
)

// table runs the operations of sonde/gslot.h on a four-slot table.
type table struct {
	t    *testing.T
	objs gslotObjects
}

func newTable(t *testing.T) *table {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads a BPF program")
	}
	var objs gslotObjects
	if err := loadGslotObjects(&objs, nil); err != nil {
		t.Fatalf("loading: %v", err)
	}
	t.Cleanup(func() { objs.Close() })
	return &table{t: t, objs: objs}
}

func (tb *table) do(c gslotCmd) gslotCmd {
	tb.t.Helper()
	if err := tb.objs.Cmds.Put(uint32(0), c); err != nil {
		tb.t.Fatal(err)
	}
	if _, err := tb.objs.Run.Run(&ebpf.RunOptions{Data: make([]byte, 64)}); err != nil {
		tb.t.Fatalf("running: %v", err)
	}
	var out gslotCmd
	if err := tb.objs.Cmds.Lookup(uint32(0), &out); err != nil {
		tb.t.Fatal(err)
	}
	return out
}

// claim makes or finds key's entry, sets it to x, and returns whether it
// is in the hash map.
func (tb *table) claim(key, x uint64) bool {
	tb.t.Helper()
	out := tb.do(gslotCmd{Op: opClaim, Key: key, X: x})
	if out.Found != 1 {
		tb.t.Fatalf("claim %d: no entry", key)
	}
	return out.InHash == 1
}

// find returns key's value, or false.
func (tb *table) find(key uint64) (uint64, bool) {
	tb.t.Helper()
	out := tb.do(gslotCmd{Op: opFind, Key: key})
	return out.X, out.Found == 1
}

func (tb *table) want(key, x uint64) {
	tb.t.Helper()
	if got, ok := tb.find(key); !ok || got != x {
		tb.t.Fatalf("find %d = %d, %v; want %d", key, got, ok, x)
	}
}

func (tb *table) wantNone(key uint64) {
	tb.t.Helper()
	if got, ok := tb.find(key); ok {
		tb.t.Fatalf("find %d = %d, want none", key, got)
	}
}

// heads returns the slots' (key, claim, spill) and the hash map's size.
func (tb *table) heads() ([4][3]uint64, int) {
	tb.t.Helper()
	var out [4][3]uint64
	for i := range uint32(4) {
		var s gslotSlotsSlot
		if err := tb.objs.Slots.Lookup(i, &s); err != nil {
			tb.t.Fatal(err)
		}
		out[i] = [3]uint64{s.H.Key, uint64(s.H.Claim), uint64(s.H.Spill)}
	}
	n := 0
	var k uint64
	var v gslotVal
	for it := tb.objs.Spill.Iterate(); it.Next(&k, &v); {
		n++
	}
	return out, n
}

// slotOf is gslot_at's slot of key in a table of four.
func slotOf(key uint64) int { return int(uint32((key*0x9E3779B97F4A7C15)>>32) & 3) }

// colliding returns n keys of one slot.
func colliding(n int) []uint64 {
	var keys []uint64
	for k := uint64(1); len(keys) < n; k++ {
		if slotOf(k) == slotOf(1) {
			keys = append(keys, k)
		}
	}
	return keys
}

// TestCollisions: the first key of a slot holds it; the others of that
// slot go to the hash map, are found there, and stay there while they
// have an entry even after the slot is free; every drop leaves the table
// as it found it.
func TestCollisions(t *testing.T) {
	tb := newTable(t)
	k := colliding(3)
	a, b, c := k[0], k[1], k[2]
	if tb.claim(a, 10) {
		t.Fatalf("first key of a free slot went to the hash map")
	}
	if !tb.claim(b, 20) || !tb.claim(c, 30) {
		t.Fatalf("a key whose slot is held did not go to the hash map")
	}
	tb.want(a, 10)
	tb.want(b, 20)
	tb.want(c, 30)
	heads, n := tb.heads()
	s := slotOf(a)
	if heads[s] != [3]uint64{a, 1, 2} || n != 2 {
		t.Fatalf("slot %d = %v with %d hashed, want {%d 1 2} with 2", s, heads[s], n, a)
	}

	// A claim of a key with an entry returns it, where it is.
	if tb.claim(a, 11) || !tb.claim(b, 21) {
		t.Fatalf("a second claim moved an entry")
	}
	tb.want(a, 11)
	tb.want(b, 21)

	// The slot freed, b keeps its hash entry: no key has two entries.
	tb.do(gslotCmd{Op: opDrop, Key: a})
	tb.wantNone(a)
	if !tb.claim(b, 22) {
		t.Fatalf("b moved to the freed slot while it had a hash entry")
	}
	tb.want(b, 22)
	tb.do(gslotCmd{Op: opDrop, Key: b})
	tb.wantNone(b)
	tb.want(c, 30)

	// c, dropped from the hash map, takes the free slot next time.
	tb.do(gslotCmd{Op: opDropAt, Key: c, InHash: 1})
	tb.wantNone(c)
	if heads, n := tb.heads(); heads[s] != [3]uint64{0, 0, 0} || n != 0 {
		t.Fatalf("after every drop: slot %d = %v with %d hashed, want empty", s, heads[s], n)
	}
	if tb.claim(c, 31) {
		t.Fatalf("c did not take the free slot")
	}
	tb.want(c, 31)
	tb.do(gslotCmd{Op: opDropAt, Key: c})
	tb.wantNone(c)
}

// TestDropAtInHash: a drop of the hash entry (the loser of a claim race
// for one key) leaves the slot entry of that key alone.
func TestDropAtInHash(t *testing.T) {
	tb := newTable(t)
	a := colliding(1)[0]
	if tb.claim(a, 1) {
		t.Fatal("went to the hash map")
	}
	tb.do(gslotCmd{Op: opDropAt, Key: a, InHash: 1})
	tb.want(a, 1)
	tb.do(gslotCmd{Op: opDropAt, Key: a})
	tb.wantNone(a)
}

// TestKeyZero: the key 0 (no goroutine, no context) is never stored.
func TestKeyZero(t *testing.T) {
	tb := newTable(t)
	if out := tb.do(gslotCmd{Op: opClaim, Key: 0, X: 5}); out.Found != 0 {
		t.Fatal("claim of key 0 made an entry")
	}
	tb.wantNone(0)
}
