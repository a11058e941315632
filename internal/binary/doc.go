// Package binary reads what Sonde needs from a Go executable.
package binary
