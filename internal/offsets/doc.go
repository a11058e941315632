// Package offsets finds struct field offsets of the target.
//
// Lookup order (Resolve): the target's own DWARF; without DWARF (built
// with -ldflags=-w, as release binaries are), the versioned table embedded
// from table.txt for the exact version of the field's module (the Go minor
// version for the standard library) and the target's arch; for a version
// the table lacks, the offset shared by the runs of both neighbouring
// known versions when they are one run (every known version on both sides
// of the gap agrees), logged as inferred; else the field is missing and
// the probe that needs it is skipped, the message naming the library,
// version and field. A layout change between the neighbours, or a
// version older or newer than every known one, is never guessed across.
//
// table.txt is written by internal/tools/offsetgen (make offsets), which
// builds small programs against every release of each probed library
// through the Go module proxy and with every Go toolchain here, for
// amd64 and arm64, and reads their DWARF. Its text form: "K module arch
// versions..." lists the known versions; "F module struct field" starts a
// field, followed by its runs "R arch from to offset source-file" (arch
// "*" for all, offset "-" where the field does not exist).
package offsets
