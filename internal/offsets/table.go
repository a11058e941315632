package offsets

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/semver"
)

// SizeName is the Name of a Field that stands for its struct's byte size
// rather than a member ("kafka-go.Message.(size)").
const SizeName = "(size)"

// AnyArch is the arch of a run that holds on every architecture.
const AnyArch = "*"

// Std is the module name of the standard library; its versions are Go
// minor versions ("go1.22").
const Std = "std"

// absent marks, in a run, versions whose builds do not have the field.
const absent = -1

// Run is one stretch of consecutive known versions of a module (From to To,
// both known, inclusive) over which a field has one offset on Arch
// (AnyArch: every architecture).
type Run struct {
	Arch     string
	From, To string
	Offset   int64  // absent (-1) when the field is not in those versions
	Source   string // the struct's source file in those versions
}

// FieldRuns is one field's entry in the versioned table.
type FieldRuns struct {
	Module string
	Field  Field
	Runs   []Run
}

// VersionTable holds the offsets of declared fields for every known
// version of their module, compressed into runs (the output of
// internal/tools/offsetgen).
type VersionTable struct {
	// Known lists, per module and arch, every version that was built,
	// sorted. An arch of AnyArch applies to every architecture.
	Known  map[string]map[string][]string
	Fields map[Field]*FieldRuns
}

// Observation is one offset read from one build.
type Observation struct {
	Module, Version, Arch string
	Field                 Field
	Offset                int64 // absent (-1) when the build lacks it
	Source                string
}

// Compress builds a table from observations: per field and arch, the
// known versions of its module are sorted and consecutive ones with the
// same offset (or the same absence) and source become one run. Runs equal
// on every arch are written once, with AnyArch. Two observations of the
// same (module, version, arch, field) that disagree are an error (a
// layout that depends on something the table does not key on, such as
// the Go version that built a library).
func Compress(obs []Observation) (*VersionTable, error) {
	type key struct {
		f         Field
		arch, ver string
		module    string
	}
	seen := map[key]Observation{}
	known := map[string]map[string]map[string]bool{} // module -> arch -> version
	fieldMod := map[Field]string{}
	for _, o := range obs {
		v := Canonical(o.Module, o.Version)
		if v == "" {
			return nil, fmt.Errorf("module %s: version %q is not semver", o.Module, o.Version)
		}
		if m, ok := fieldMod[o.Field]; ok && m != o.Module {
			return nil, fmt.Errorf("field %s seen in modules %s and %s", o.Field, m, o.Module)
		}
		fieldMod[o.Field] = o.Module
		if known[o.Module] == nil {
			known[o.Module] = map[string]map[string]bool{}
		}
		if known[o.Module][o.Arch] == nil {
			known[o.Module][o.Arch] = map[string]bool{}
		}
		known[o.Module][o.Arch][v] = true
		k := key{o.Field, o.Arch, v, o.Module}
		if prev, ok := seen[k]; ok && (prev.Offset != o.Offset) {
			return nil, fmt.Errorf("%s %s %s: offset %d and %d in two builds", o.Field, v, o.Arch, prev.Offset, o.Offset)
		}
		o.Version = v
		if prev, ok := seen[k]; ok && prev.Source != "" {
			o.Source = prev.Source
		}
		seen[k] = o
	}
	t := &VersionTable{Known: map[string]map[string][]string{}, Fields: map[Field]*FieldRuns{}}
	for mod, arches := range known {
		t.Known[mod] = map[string][]string{}
		for arch, vs := range arches {
			list := make([]string, 0, len(vs))
			for v := range vs {
				list = append(list, v)
			}
			sortVersions(list)
			t.Known[mod][arch] = list
		}
	}
	for f, mod := range fieldMod {
		perArch := map[string][]Run{}
		for arch, vs := range t.Known[mod] {
			var runs []Run
			for _, v := range vs {
				o, ok := seen[key{f, arch, v, mod}]
				off, src := int64(absent), ""
				if ok {
					off, src = o.Offset, o.Source
				}
				if n := len(runs); n > 0 && runs[n-1].Offset == off && runs[n-1].Source == src {
					runs[n-1].To = v
					continue
				}
				runs = append(runs, Run{Arch: arch, From: v, To: v, Offset: off, Source: src})
			}
			perArch[arch] = runs
		}
		fr := &FieldRuns{Module: mod, Field: f}
		if same := sameRuns(perArch); same != nil {
			for _, r := range same {
				r.Arch = AnyArch
				fr.Runs = append(fr.Runs, r)
			}
		} else {
			arches := make([]string, 0, len(perArch))
			for a := range perArch {
				arches = append(arches, a)
			}
			sort.Strings(arches)
			for _, a := range arches {
				fr.Runs = append(fr.Runs, perArch[a]...)
			}
		}
		t.Fields[f] = fr
	}
	// Known lists identical on every arch are written once too.
	for mod, arches := range t.Known {
		var first []string
		same, n := true, 0
		for _, vs := range arches {
			if n == 0 {
				first = vs
			} else if !slices.Equal(first, vs) {
				same = false
			}
			n++
		}
		if same && n > 1 {
			t.Known[mod] = map[string][]string{AnyArch: first}
		}
	}
	return t, nil
}

// sameRuns returns the runs when every arch has the same ones (ignoring
// Arch), else nil.
func sameRuns(perArch map[string][]Run) []Run {
	var first []Run
	n := 0
	for _, runs := range perArch {
		if n == 0 {
			first = runs
		} else if len(runs) != len(first) {
			return nil
		} else {
			for i := range runs {
				a, b := runs[i], first[i]
				a.Arch, b.Arch = "", ""
				if a != b {
					return nil
				}
			}
		}
		n++
	}
	if n < 2 {
		return nil
	}
	return first
}

// Canonical returns version as the table keys it: for the standard
// library the Go minor version ("go1.22.12" -> "go1.22"; struct layouts do
// not change in patch releases), else the semver version. It returns ""
// for a version that cannot be ordered.
func Canonical(module, version string) string {
	if module == Std {
		v := strings.TrimPrefix(version, "go")
		if i := strings.IndexAny(v, "-+ "); i >= 0 {
			v = v[:i] // go1.27.3-X:nocoverageredesign, devel builds
		}
		parts := strings.Split(v, ".")
		if len(parts) < 2 {
			return ""
		}
		minor := parts[1]
		if i := strings.IndexAny(minor, "rcbeta"); i > 0 {
			minor = minor[:i] // go1.24rc1
		}
		if _, err := strconv.Atoi(parts[0]); err != nil {
			return ""
		}
		if _, err := strconv.Atoi(minor); err != nil {
			return ""
		}
		return "go" + parts[0] + "." + minor
	}
	if !semver.IsValid(version) {
		return ""
	}
	return version
}

// semverOf maps a canonical version to a semver string for ordering.
func semverOf(v string) string {
	if m, ok := strings.CutPrefix(v, "go"); ok {
		return "v" + m + ".0"
	}
	return v
}

func compareVersions(a, b string) int { return semver.Compare(semverOf(a), semverOf(b)) }

func sortVersions(vs []string) { slices.SortFunc(vs, compareVersions) }

// Source says where an offset came from.
type Source int

// Sources of an offset, in lookup order.
const (
	Missing  Source = iota // found nowhere: a probe that needs it is skipped
	DWARF                  // the target's own DWARF
	Exact                  // the table, for the target's exact version
	Inferred               // the table, a version between two known ones that agree
)

// String names the source as `sonde check` prints it.
func (s Source) String() string {
	switch s {
	case DWARF:
		return "DWARF"
	case Exact:
		return "table"
	case Inferred:
		return "inferred"
	}
	return "missing"
}

// Origin says where one field's offset came from, for messages and
// `sonde check`.
type Origin struct {
	Field   Field
	Source  Source
	Module  string // "std" for the standard library
	Version string // the target's version of Module (canonical)
	// Reason explains an inferred or missing offset: the neighbours used,
	// or why none could be.
	Reason string
}

// String is "net/http.Request.Method: table (std go1.22)".
func (o Origin) String() string {
	s := fmt.Sprintf("%s: %s", o.Field, o.Source)
	if o.Module == "" {
		if o.Reason != "" {
			s += " (" + o.Reason + ")"
		}
		return s
	}
	if o.Source != DWARF {
		s += fmt.Sprintf(" (%s %s", o.Module, o.Version)
		if o.Reason != "" {
			s += ": " + o.Reason
		}
		s += ")"
	}
	return s
}

// known returns the known versions of module on arch.
func (t *VersionTable) known(module, arch string) []string {
	if vs, ok := t.Known[module][arch]; ok {
		return vs
	}
	return t.Known[module][AnyArch]
}

// runs returns the field's runs that hold on arch.
func (fr *FieldRuns) runs(arch string) []Run {
	var out []Run
	for _, r := range fr.Runs {
		if r.Arch == arch || r.Arch == AnyArch {
			out = append(out, r)
		}
	}
	return out
}

// Lookup returns the offset of f for version of module on arch: the run
// holding that exact version (Exact); else, for a version between two
// known ones, the offset of the run holding both neighbours (every known
// version on both sides of the gap agrees: Inferred); else Missing, with
// the reason. A layout change between the neighbours, a version outside
// the known ones or a field absent in the matching versions is Missing.
func (t *VersionTable) Lookup(f Field, module, version, arch string) (uint64, Origin) {
	o := Origin{Field: f, Module: module, Version: version}
	v := Canonical(module, version)
	if v == "" {
		o.Reason = "version not comparable"
		return 0, o
	}
	o.Version = v
	if t == nil || t.Fields[f] == nil || t.Fields[f].Module != module {
		o.Reason = "field not in the table"
		return 0, o
	}
	fr := t.Fields[f]
	vs := t.known(module, arch)
	if len(vs) == 0 {
		o.Reason = "no " + arch + " builds in the table"
		return 0, o
	}
	runs := fr.runs(arch)
	in := func(r Run, x string) bool {
		return compareVersions(r.From, x) <= 0 && compareVersions(x, r.To) <= 0
	}
	if _, exact := slices.BinarySearchFunc(vs, v, compareVersions); exact {
		for _, r := range runs {
			if in(r, v) {
				if r.Offset == absent {
					o.Reason = NotInVersion
					return 0, o
				}
				o.Source = Exact
				return uint64(r.Offset), o
			}
		}
		o.Reason = "no run holds this version"
		return 0, o
	}
	i, _ := slices.BinarySearchFunc(vs, v, compareVersions)
	if i == 0 {
		o.Reason = fmt.Sprintf("older than the oldest version in the table (%s)", vs[0])
		return 0, o
	}
	if i == len(vs) {
		o.Reason = fmt.Sprintf("newer than the newest version in the table (%s)", vs[len(vs)-1])
		return 0, o
	}
	lo, hi := vs[i-1], vs[i]
	for _, r := range runs {
		if in(r, lo) {
			if !in(r, hi) {
				o.Reason = fmt.Sprintf("not in the table; the layout changes between %s and %s", lo, hi)
				return 0, o
			}
			if r.Offset == absent {
				o.Reason = fmt.Sprintf("not in the table; absent in %s and %s", lo, hi)
				return 0, o
			}
			o.Source = Inferred
			o.Reason = fmt.Sprintf("not in the table; same offset in %s and %s and every known version from %s to %s", lo, hi, r.From, r.To)
			return uint64(r.Offset), o
		}
	}
	o.Reason = "no run holds " + lo
	return 0, o
}

// Encode writes the table in its text form: "K module arch versions..."
// lines, then per field "F module struct name" and its runs
// "R arch from to offset source" (offset "-" for absent), sorted.
func (t *VersionTable) Encode(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# Struct field offsets by module version (std: Go minor version), generated by internal/tools/offsetgen (make offsets). Do not edit.")
	mods := make([]string, 0, len(t.Known))
	for m := range t.Known {
		mods = append(mods, m)
	}
	sort.Strings(mods)
	for _, m := range mods {
		arches := make([]string, 0, len(t.Known[m]))
		for a := range t.Known[m] {
			arches = append(arches, a)
		}
		sort.Strings(arches)
		for _, a := range arches {
			fmt.Fprintf(bw, "K %s %s %s\n", m, a, strings.Join(t.Known[m][a], " "))
		}
	}
	fields := make([]*FieldRuns, 0, len(t.Fields))
	for _, fr := range t.Fields {
		fields = append(fields, fr)
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Field.String() < fields[j].Field.String() })
	for _, fr := range fields {
		fmt.Fprintf(bw, "F %s %s %s\n", fr.Module, fr.Field.Struct, fr.Field.Name)
		for _, r := range fr.Runs {
			off := "-"
			if r.Offset != absent {
				off = strconv.FormatInt(r.Offset, 10)
			}
			src := r.Source
			if src == "" {
				src = "-"
			}
			fmt.Fprintf(bw, "R %s %s %s %s %s\n", r.Arch, r.From, r.To, off, src)
		}
	}
	return bw.Flush()
}

// Decode reads a table written by Encode.
func Decode(b []byte) (*VersionTable, error) {
	t := &VersionTable{Known: map[string]map[string][]string{}, Fields: map[Field]*FieldRuns{}}
	var cur *FieldRuns
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		w := strings.Fields(line)
		bad := fmt.Errorf("offsets table line %d: %q", n, line)
		switch w[0] {
		case "K":
			if len(w) < 4 {
				return nil, bad
			}
			if t.Known[w[1]] == nil {
				t.Known[w[1]] = map[string][]string{}
			}
			t.Known[w[1]][w[2]] = w[3:]
		case "F":
			if len(w) != 4 {
				return nil, bad
			}
			cur = &FieldRuns{Module: w[1], Field: Field{Struct: w[2], Name: w[3]}}
			t.Fields[cur.Field] = cur
		case "R":
			if len(w) != 6 || cur == nil {
				return nil, bad
			}
			r := Run{Arch: w[1], From: w[2], To: w[3], Offset: absent, Source: w[5]}
			if r.Source == "-" {
				r.Source = ""
			}
			if w[4] != "-" {
				off, err := strconv.ParseInt(w[4], 10, 64)
				if err != nil || off < 0 {
					return nil, bad
				}
				r.Offset = off
			}
			cur.Runs = append(cur.Runs, r)
		default:
			return nil, bad
		}
	}
	return t, sc.Err()
}
