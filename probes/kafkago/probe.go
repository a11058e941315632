package kafkago

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/pipeline"
	"github.com/sonde-go/auto/internal/probe"
)

// Module is kafka-go's module path.
const Module = "github.com/segmentio/kafka-go"

func field(s, n string) offsets.Field { return offsets.Field{Struct: Module + "." + s, Name: n} }

// Fields read (message.go, writer.go, reader.go; the same from v0.4.40 to
// v0.4.51).
var (
	msgTopic     = field("Message", "Topic")
	msgPartition = field("Message", "Partition")
	msgOffset    = field("Message", "Offset")
	msgKey       = field("Message", "Key")
	msgHeaders   = field("Message", "Headers")
	// kafka.Header is an alias of protocol.Header (record.go).
	hdrKey       = offsets.Field{Struct: headerType, Name: "Key"}
	hdrValue     = offsets.Field{Struct: headerType, Name: "Value"}
	writerTopic  = field("Writer", "Topic")
	readerConfig = field("Reader", "config")
	configGroup  = field("ReaderConfig", "GroupID")
	msgSize      = field("Message", offsets.SizeName)
	hdrSize      = offsets.Field{Struct: headerType, Name: offsets.SizeName}
	msgFields    = []offsets.Field{msgTopic, msgPartition, msgOffset, msgKey, msgHeaders, hdrKey, hdrValue, msgSize, hdrSize}
	// hookFields are the fields each hook needs besides msgFields: a
	// program links the writer, the reader or both.
	hookFields = map[string][]offsets.Field{
		writeSymbol: {writerTopic},
		fetchSymbol: {readerConfig, configGroup},
	}
)

const (
	headerType  = Module + "/protocol.Header"
	writeSymbol = Module + ".(*Writer).WriteMessages"
	fetchSymbol = Module + ".(*Reader).FetchMessage"
)

// Probe instruments kafka-go: a PRODUCER span for every message a
// (*Writer).WriteMessages call sends, child of the caller's span (its
// context, else its goroutine), and a CONSUMER span for every message
// (*Reader).FetchMessage (and so ReadMessage) returns, continuing the trace
// of the message's traceparent header. Where the kernel allows
// bpf_probe_write_user its write variant (kafka_write.c, inject.h) gives
// produced messages that lack one a traceparent header naming their
// PRODUCER span. Probe hits: 2 per WriteMessages call (a batch of 100
// included), 2 per message read.
type Probe struct{}

// Name implements probe.Probe.
func (Probe) Name() string { return "kafka-go" }

// Library implements probe.Probe.
func (Probe) Library() string { return Module }

// Spec implements probe.Probe.
func (Probe) Spec() (*ebpf.CollectionSpec, error) { return loadKafka() }

// Hooks implements probe.Probe: a program uses the writer, the reader or
// both.
func (Probe) Hooks() []probe.Hook {
	return []probe.Hook{
		{Symbol: writeSymbol, Entry: "send_entry", Return: "send_return", Optional: true},
		{Symbol: fetchSymbol, Entry: "receive_entry", Return: "receive_return", Optional: true},
	}
}

// Fields implements probe.Probe: which are needed depends on the hooks
// the program links (Vars checks).
func (Probe) Fields() (required, optional []offsets.Field) {
	optional = append(optional, msgFields...)
	for _, fs := range hookFields {
		optional = append(optional, fs...)
	}
	return nil, optional
}

// Vars implements probe.Probe.
func (Probe) Vars(t *probe.Target, o offsets.Table) ([]probe.Var, error) {
	version, _ := t.Bin.Module(Module)
	need := append([]offsets.Field{}, msgFields...)
	linked := false
	for _, h := range (Probe{}).Hooks() {
		if _, err := t.Bin.Func(h.Symbol); err == nil {
			linked = true
			need = append(need, hookFields[h.Symbol]...)
		}
	}
	if !linked {
		return nil, fmt.Errorf("neither Writer.WriteMessages nor Reader.FetchMessage in the target: %w", probe.ErrNotLinked)
	}
	var missing []offsets.Field
	for _, f := range need {
		if _, ok := o[f]; !ok {
			missing = append(missing, f)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unsupported kafka-go version %s: %w: %w", version, &offsets.MissingError{Fields: missing}, probe.ErrUnsupportedVersion)
	}
	vars := []probe.Var{
		{Name: "msg_size", Value: o.Get(msgSize)},
		{Name: "msg_topic_off", Value: o.Get(msgTopic)},
		{Name: "msg_part_off", Value: o.Get(msgPartition)},
		{Name: "msg_offset_off", Value: o.Get(msgOffset)},
		{Name: "msg_key_off", Value: o.Get(msgKey)},
		{Name: "msg_headers_off", Value: o.Get(msgHeaders)},
		{Name: "hdr_size", Value: o.Get(hdrSize)},
		{Name: "hdr_key_off", Value: o.Get(hdrKey)},
		{Name: "hdr_value_off", Value: o.Get(hdrValue)},
		{Name: "writer_topic_off", Value: o.Get(writerTopic)},
		{Name: "reader_group_off", Value: o.Get(readerConfig) + o.Get(configGroup)},
	}
	if writes(t) {
		vars = append(vars, injectVars(t, o)...)
	}
	return vars, nil
}

// Decoders implements probe.Probe.
func (Probe) Decoders(t *probe.Target) map[string]pipeline.Decoder {
	d := decoder{errType: t.ErrorType}
	return map[string]pipeline.Decoder{"kafka_send": d.send, "kafka_receive": d.receive}
}

// KernelTests implements probe.Probe.
func (Probe) KernelTests() probe.KernelTests {
	return probe.KernelTests{
		Tests: []string{"TestKafkaSpans", "TestKafkaPropagation"},
		Fixtures: map[string]string{
			"producer": "./probes/kafkago/testdata/producer",
			"consumer": "./probes/kafkago/testdata/consumer",
		},
	}
}
