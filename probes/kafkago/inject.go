package kafkago

import (
	"encoding/binary"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/internal/process"
)

// The arena layout inject.h uses: a magic, the key "traceparent", then
// arenaSlots slots of 128 bytes.
const (
	arenaKeyOff = 16
	arenaSize   = 4096 + 16384*128
)

// arenaMagic is written at the arena's start once it is mapped; BPF
// writes nothing into the target before it sees it.
var arenaMagic = [16]byte{'s', 'o', 'n', 'd', 'e', ' ', 'k', 'a', 'f', 'k', 'a', ' ', 'v', '1'}

// WriteSpec implements probe.WriteVariant: kafka.c plus the producer
// propagation (inject.h).
func (Probe) WriteSpec() (*ebpf.CollectionSpec, error) { return loadKafkaWrite() }

// writes reports whether the write variant is the one loaded (the
// manager's rule).
func writes(t *probe.Target) bool { return t.Facts != nil && t.Facts.WriteUser == nil }

// injectVars are the write variant's variables: the arena's address and
// magic, or an arena address of 0 (nothing injected) when kafka.Header is
// not the {Key string; Value []byte} inject.h writes.
func injectVars(t *probe.Target, o offsets.Table) []probe.Var {
	addr := process.ArenaAddr(process.ArenaKafka)
	if o.Get(hdrSize) != 40 || o.Get(hdrKey) != 0 || o.Get(hdrValue) != 16 {
		t.Logger.Info("kafka-go: outgoing trace context propagation is off: kafka.Header is not {Key string; Value []byte}",
			"size", o.Get(hdrSize))
		addr = 0
	}
	return []probe.Var{
		{Name: "arena_base", Value: addr},
		{Name: "arena_magic0", Value: binary.LittleEndian.Uint64(arenaMagic[:8])},
		{Name: "arena_magic1", Value: binary.LittleEndian.Uint64(arenaMagic[8:])},
	}
}

// Attached implements probe.Attacher. Under lockdown it says once that
// produced messages get no traceparent from Sonde; elsewhere it maps the
// arena the write variant's headers live in and marks it ready. A
// failure there leaves propagation off (said once) and the spans on.
func (Probe) Attached(t *probe.Target) error {
	if !writes(t) {
		reason := "unknown"
		if t.Facts != nil && t.Facts.WriteUser != nil {
			reason = t.Facts.WriteUser.Error()
		}
		t.Logger.Info("kafka-go: outgoing trace context propagation is off (bpf_probe_write_user refused): produced messages get no traceparent header from Sonde; consumer spans continue the app's own traceparent headers",
			"reason", reason)
		return nil
	}
	if _, err := t.Bin.Func(writeSymbol); err != nil {
		return nil // a consumer only
	}
	if err := readyArena(t.PID); err != nil {
		t.Logger.Info("kafka-go: outgoing trace context propagation is off: no scratch memory in the target", "reason", err.Error())
		return nil
	}
	t.Logger.Info("kafka-go: produced messages without a traceparent header get one (bpf_probe_write_user)")
	return nil
}

// readyArena maps the arena into pid, or finds the one an earlier Sonde
// mapped.
func readyArena(pid int) error {
	return process.ReadyArena(pid, process.ArenaAddr(process.ArenaKafka), arenaSize, arenaMagic, arenaKeyOff, "traceparent")
}
