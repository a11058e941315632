// Package probe is the contract between Sonde and the packages under
// probes/: what a probe declares (hooks, offsets, decoders), the target it is
// loaded into, and the manager that selects, loads and attaches probes,
// reporting and skipping any that cannot load.
package probe
