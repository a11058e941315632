// Package probe is the contract between Sonde and the packages under
// probes/: what a probe declares (hooks, offsets, variables, events,
// settings, kernel-matrix tests), the target it is loaded into, and the
// manager that selects, loads and attaches probes, reporting and skipping
// any that cannot load.
//
// # The contract
//
// A probe package owns everything about its library: its BPF C, the maps
// only it uses (and those its own probes share), the header keys or field
// names it matches, its settings and its kernel-matrix tests. Adding a
// library means adding one folder under probes/ and one line in
// probes/all.go; nothing else names a library.
//
// The shared C in internal/bpf/include/sonde holds only what every probe
// uses: the Go ABI (regs.h, go.h), goroutine IDs, the span correlation maps
// and parent walk (span.h), the in-flight span lifecycle (inflight.h:
// span_begin, span_start, span_lookup, span_end), the generic Go map walk
// (gomap.h, parameterized by key/elem sizes and a visitor), W3C traceparent
// parsing, the event header and the ring buffer (event.h).
//
// Event kinds are not a central list. A probe's C declares each span type
// with EVENT_KIND(name), a volatile const the manager numbers at load
// (unique among the probes it loads) and under which it registers the
// decoder the probe returns for name; a decoder without an event or an
// event without a decoder is an error. Enums that C and Go share are
// exported by bpf2go -type.
//
// Variables a probe sets (Var) must exist in its spec, and those of the
// shared headers must exist in the shared spec (internal/bpf/types.c):
// a misspelled name is ErrUnknownVar at load, never an offset left at 0.
//
// Maps: those of the shared headers (events, counters, spans_by_ctx and
// its slot array ctx_spans, spans_by_goroutine and goroutine_spans,
// goroutine_parents) are one instance for all probes; beyond those, the
// probes of one Go package share each map they declare by the same name.
// Manager.InFlight counts a slot array's held slots (sonde/gslot.h) as
// entries of its hash map.
//
// Settings: a probe that reads user switches implements Configurable; the
// root package resolves every declared setting (default, environment with
// auto.WithEnv, auto.WithSetting) and passes the values in
// Target.Settings.
//
// Kernel matrix: KernelTests names the package's tests that
// internal/vmtest runs on every kernel; each must report a pass there.
//
// probes/all_test.go checks all of this for every probe of probes.All()
// without a kernel.
package probe
