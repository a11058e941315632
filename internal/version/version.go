// Package version holds Sonde's own version.
package version

// Sonde is the version reported as telemetry.distro.version and as the
// instrumentation scope version of every probe.
const Sonde = "0.1.0"
