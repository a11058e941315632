package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/go-logr/logr/testr"

	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/pipeline"
)

// ringWriter is a real BPF ring buffer with a BPF program that copies the
// record in slot 0 of an array map into it: user space cannot write a ring
// buffer itself.
type ringWriter struct {
	ring, record *ebpf.Map
	prog         *ebpf.Program
}

func newRingWriter(t *testing.T, recordSize int) *ringWriter {
	t.Helper()
	testenv.RequireRoot(t)
	err := features.HaveMapType(ebpf.RingBuf)
	testenv.Require(t, !errors.Is(err, ebpf.ErrNotSupported), "BPF ring buffers need Linux 5.8: %v", err)
	ring, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.RingBuf, MaxEntries: 1 << 16})
	if err != nil {
		t.Fatalf("creating ring buffer: %v", err)
	}
	t.Cleanup(func() { ring.Close() })
	record, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: uint32(recordSize), MaxEntries: 1})
	if err != nil {
		t.Fatalf("creating record map: %v", err)
	}
	t.Cleanup(func() { record.Close() })
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:    ebpf.SocketFilter,
		License: "MIT",
		Instructions: asm.Instructions{
			// r0 = bpf_map_lookup_elem(record, &(u32){0})
			asm.StoreImm(asm.RFP, -4, 0, asm.Word),
			asm.LoadMapPtr(asm.R1, record.FD()),
			asm.Mov.Reg(asm.R2, asm.RFP),
			asm.Add.Imm(asm.R2, -4),
			asm.FnMapLookupElem.Call(),
			asm.JEq.Imm(asm.R0, 0, "exit"),
			// bpf_ringbuf_output(ring, r0, recordSize, 0)
			asm.LoadMapPtr(asm.R1, ring.FD()),
			asm.Mov.Reg(asm.R2, asm.R0),
			asm.Mov.Imm(asm.R3, int32(recordSize)),
			asm.Mov.Imm(asm.R4, 0),
			asm.FnRingbufOutput.Call(),
			asm.Mov.Imm(asm.R0, 0).WithSymbol("exit"),
			asm.Return(),
		},
	})
	if err != nil {
		t.Fatalf("loading writer program: %v", err)
	}
	t.Cleanup(func() { prog.Close() })
	return &ringWriter{ring: ring, record: record, prog: prog}
}

func (w *ringWriter) write(t *testing.T, raw []byte) {
	t.Helper()
	if err := w.record.Put(uint32(0), raw); err != nil {
		t.Fatalf("storing record: %v", err)
	}
	// A socket filter's test run needs at least an Ethernet header.
	if _, err := w.prog.Run(&ebpf.RunOptions{Data: make([]byte, 14)}); err != nil {
		t.Fatalf("running writer program: %v", err)
	}
}

func (w *ringWriter) reader(t *testing.T) *ringbuf.Reader {
	t.Helper()
	rd, err := ringbuf.NewReader(w.ring)
	if err != nil {
		t.Fatalf("opening ring buffer reader: %v", err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd
}

// runAsync starts p.Run and returns a channel with its result.
func runAsync(ctx context.Context, p *pipeline.Pipeline, rd *ringbuf.Reader) <-chan error {
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, rd) }()
	return done
}

func waitRun(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5s after its context ended")
	}
}

func TestRunLive(t *testing.T) {
	raw := event(t, 1)
	w := newRingWriter(t, len(raw))
	rd := w.reader(t)
	exp := &countExporter{}
	p := newPipeline(t, exp, 0, testr.New(t))

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := runAsync(ctx, p, rd)
	w.write(t, raw)
	unknown := append([]byte(nil), raw...)
	unknown[0] = 42
	w.write(t, unknown)
	waitFor(t, func() bool { return p.Stats().Events == 2 })
	cancel()
	waitRun(t, done)
	shutdown(t, p)
	if got, want := p.Stats(), (pipeline.Stats{Events: 2, Spans: 1, UnknownKinds: 1, Exported: 1}); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
}

// TestRunDrains: records already in the ring buffer when the context ends
// are handled before Run returns, and the reader is closed.
func TestRunDrains(t *testing.T) {
	raw := event(t, 1)
	w := newRingWriter(t, len(raw))
	rd := w.reader(t)
	for i := range 50 {
		w.write(t, event(t, byte(i+1)))
	}
	p := newPipeline(t, &countExporter{}, 0, testr.New(t))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	waitRun(t, runAsync(ctx, p, rd))
	if got := p.Stats().Spans; got != 50 {
		t.Fatalf("Run handled %d spans, want the 50 buffered", got)
	}
	var rec ringbuf.Record
	if err := rd.ReadInto(&rec); !errors.Is(err, ringbuf.ErrClosed) {
		t.Fatalf("ReadInto after Run = %v, want ErrClosed", err)
	}
	shutdown(t, p)
}

// TestRunReaderClosed: Run ends cleanly when someone else closes the reader.
func TestRunReaderClosed(t *testing.T) {
	w := newRingWriter(t, 8)
	rd := w.reader(t)
	p := newPipeline(t, &countExporter{}, 0, testr.New(t))
	done := runAsync(t.Context(), p, rd)
	// Part of what is tested (Run blocked in ReadInto when the reader
	// closes), and nothing to observe: a close before that ends Run as well.
	time.Sleep(10 * time.Millisecond)
	rd.Close()
	waitRun(t, done)
	shutdown(t, p)
}
