// Package offsets finds struct field offsets of the target, from DWARF.
package offsets
