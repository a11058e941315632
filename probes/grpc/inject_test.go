package grpc_test

import (
	"testing"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/e2etest/testenv"
	"github.com/sonde-go/auto/internal/kernel"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes/grpc"
)

// TestInjectVars: on a kernel that allows bpf_probe_write_user, the
// propagation probe finds what it needs in every grpc version tested (the
// host, in lockdown, never loads it): the header hook of the version
// (originateStream's third argument before v1.83, clientHeaderHandler's
// second after), the cleanup closure, the fields, and variables its BPF
// spec declares.
func TestInjectVars(t *testing.T) {
	for _, v := range append([]string{"main"}, grpcVersions...) {
		t.Run(v, func(t *testing.T) {
			path := ""
			if v == "main" {
				path = testenv.Build(t, "testdata/grpcapp")
			} else {
				path = buildWithGRPC(t, v)
			}
			bin, err := binary.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer bin.Close()
			d, err := bin.DWARF()
			if err != nil {
				t.Fatal(err)
			}
			p := grpc.Inject{}
			_, optional := p.Fields()
			offs, err := offsets.FromDWARF(d, optional)
			if err != nil {
				t.Logf("offsets: %v", err) // some are per version
			}
			tgt := &probe.Target{Bin: bin, DWARF: d, Facts: &kernel.Facts{}}
			vars, err := p.Vars(tgt, offs)
			if err != nil {
				t.Fatalf("Vars: %v", err)
			}
			spec, err := p.Spec()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for _, v := range vars {
				if _, ok := spec.Variables[v.Name]; !ok {
					t.Errorf("variable %s not in the BPF spec", v.Name)
				}
				got[v.Name] = v.Value
			}
			wantArg := uint64(3)
			if v == "main" {
				wantArg = 2 // v1.85: clientHeaderHandler(hdr)
			}
			// The transport stream: *Stream, *ClientStream{*Stream}, then
			// *ClientStream{Stream}.
			if wantPtr := v == "v1.69.0"; got["cstream_ptr"] != wantPtr {
				t.Errorf("cstream_ptr %v, want %v", got["cstream_ptr"], wantPtr)
			}
			if got["hdr_arg"] != wantArg || got["cleanup_fn"] == uint64(0) || got["hdr_orphaned_off"] == uint64(0) ||
				got["arena_base"] == uint64(0) {
				t.Errorf("variables %v", got)
			}
			t.Logf("%s: %v", v, got)
		})
	}
}
