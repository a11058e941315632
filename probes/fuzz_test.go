package probes

import (
	"encoding/binary"
	"maps"
	"os"
	"slices"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	sbinary "github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// decoderCase is one ring buffer record decoder of a probe: a span
// decoder or an annotator.
type decoderCase struct {
	name     string
	decode   pipeline.Decoder
	annotate pipeline.Annotator
}

// allDecoders returns every probe's decoders and annotators, sorted by
// name, built for a target that is this test process.
func allDecoders(tb testing.TB) []decoderCase {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	bin, err := sbinary.Open(exe)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { bin.Close() })
	t := &probe.Target{PID: os.Getpid(), Exe: exe, Bin: bin}
	var out []decoderCase
	for _, p := range All() {
		for name, d := range p.Decoders(t) {
			out = append(out, decoderCase{name: name, decode: d})
		}
		if a, ok := p.(probe.Annotators); ok {
			for name, an := range a.Annotators(t) {
				out = append(out, decoderCase{name: name, annotate: an})
			}
		}
	}
	slices.SortFunc(out, func(a, b decoderCase) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// FuzzDecoders: every decoder and annotator of every probe, given any
// record (the BPF side copies target memory into records, so their bytes
// are the target's to choose), returns a span or an error: never a panic,
// and the span's strings are valid UTF-8.
func FuzzDecoders(f *testing.F) {
	cases := allDecoders(f)
	if len(cases) == 0 {
		f.Fatal("no decoders")
	}
	for i := range cases {
		// A zeroed record of a generous size, and one of random-looking
		// bytes with a valid-looking string area.
		f.Add(uint8(i), make([]byte, 4096))
		junk := make([]byte, 2048)
		for j := range junk {
			junk[j] = byte(j*7 + i)
		}
		binary.LittleEndian.PutUint32(junk[4:], 0xffffffff)
		f.Add(uint8(i), junk)
		f.Add(uint8(i), []byte{})
	}
	clk := pipeline.NewClock()
	f.Fuzz(func(t *testing.T, which uint8, raw []byte) {
		c := cases[int(which)%len(cases)]
		if c.annotate != nil {
			a, err := c.annotate(raw)
			if err == nil && a.Change != nil {
				var s tracetest.SpanStub
				a.Change(&s)
				checkStrings(t, c.name, s)
			}
			return
		}
		s, err := c.decode(raw, clk)
		if err != nil {
			return
		}
		checkStrings(t, c.name, s)
	})
}

// checkStrings fails on a span name, attribute, event or status text that
// is not valid UTF-8 (OTLP requires it; the pipeline's CString and Text
// guarantee it for every string read from the target).
func checkStrings(t *testing.T, decoder string, s tracetest.SpanStub) {
	t.Helper()
	check := func(what, v string) {
		if !utf8.ValidString(v) {
			t.Errorf("%s: %s %q is not valid UTF-8", decoder, what, v)
		}
	}
	check("name", s.Name)
	check("status", s.Status.Description)
	attrs := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			check("attribute key", string(kv.Key))
			switch kv.Value.Type() {
			case attribute.STRING:
				check(string(kv.Key), kv.Value.AsString())
			case attribute.STRINGSLICE:
				for _, v := range kv.Value.AsStringSlice() {
					check(string(kv.Key), v)
				}
			}
		}
	}
	attrs(s.Attributes)
	for _, e := range s.Events {
		check("event", e.Name)
		attrs(e.Attributes)
	}
	for _, l := range s.Links {
		attrs(l.Attributes)
	}
	check("tracestate", s.SpanContext.TraceState().String())
}

// TestDecodersListed: the fuzz target reaches the decoders of every probe
// that has any.
func TestDecodersListed(t *testing.T) {
	names := map[string]bool{}
	for _, c := range allDecoders(t) {
		names[c.name] = true
	}
	for _, want := range []string{"http_server", "http_client", "db_query", "grpc_server", "grpc_client", "kafka_send", "kafka_receive"} {
		if !names[want] {
			t.Errorf("decoder %s not reached; have %v", want, slices.Sorted(maps.Keys(names)))
		}
	}
}
