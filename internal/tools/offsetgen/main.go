// Command offsetgen writes the versioned struct-offsets table that Sonde
// embeds (internal/offsets/table.txt) for binaries without DWARF.
//
// For every field any probe declares (probes.All, plus the shared headers'
// probe.CommonFields), it builds one small program per (library version,
// Go version, arch) that links every struct of that library the probes
// read (testdata/<target>/main.go), reads the offsets from the program's
// DWARF, finds the file that declares each struct in that version's
// source, and compresses the observations into version ranges
// (offsets.Compress). Library versions come from the Go module proxy
// (`go list -m -versions`, releases of the last 24 months, and never
// older than what the probe supports); Go versions are the toolchains
// installed here. Builds are cached (one JSON file per build), so a run
// stopped by -budget continues where it stopped; the table is written once
// every build is done (or failed, which is reported).
//
// -only builds some targets and writes no table; with -keep it writes the
// table too, the modules those targets build replaced and every other
// module's entries kept from the table at -out (a machine without the
// other targets' cached builds regenerates one library).
//
// Usage: go run ./internal/tools/offsetgen [-budget 9m] [-only sqlite [-keep]] [-out internal/offsets/table.txt]
package main

import (
	"bytes"
	"debug/dwarf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/semver"

	"github.com/sonde-go/auto/internal/binary"
	"github.com/sonde-go/auto/internal/offsets"
	"github.com/sonde-go/auto/internal/probe"
	"github.com/sonde-go/auto/probes"
)

// target is one program of testdata and the module whose versions it is
// built against ("" for the standard library: one build per Go version).
type target struct {
	name   string // directory under testdata
	module string
	// min is the oldest version the probe supports (older ones are not
	// built even when recent).
	min string
	// allGo builds every library version with every Go version that can
	// (std: always); otherwise with the newest Go only.
	allGo bool
	// latest builds only the module's latest version (a module released
	// as pseudo-versions only), and keeps the observations other
	// targets' builds make of it (the versions their libraries require).
	latest bool
}

var targets = []target{
	{name: "std"},
	{name: "grpc", module: "google.golang.org/grpc", min: "v1.60.0"},
	{name: "kafkago", module: "github.com/segmentio/kafka-go", min: "v0.4.40"},
	{name: "xnet", module: "golang.org/x/net"},
	{name: "pq", module: "github.com/lib/pq"},
	{name: "pgx", module: "github.com/jackc/pgx/v5"},
	{name: "mysql", module: "github.com/go-sql-driver/mysql"},
	// sqlite (C translated to Go) builds slowest, about 10 s a build with
	// the module cache warm; every release is built all the same (about
	// 16 minutes for 51 releases on two arches) so that each has an exact
	// entry: sampling would leave releases to inference, which a moved
	// declaration (Error from sqlite.go to error.go in v1.41.0) refuses.
	{name: "sqlite", module: "modernc.org/sqlite"},
	// genproto's status package (grpc's status details), released as
	// pseudo-versions: every one a grpc release requires, and the latest.
	{name: "grpc", module: "google.golang.org/genproto/googleapis/rpc", latest: true},
}

// toolchain is a go command that can build here.
type toolchain struct {
	bin     string
	env     []string
	version string // "go1.22.12"
}

var arches = []string{"amd64", "arm64"}

func main() {
	budget := flag.Duration("budget", 0, "stop starting builds after this long (0: no limit); rerun to continue from the cache")
	only := flag.String("only", "", "build only these targets (comma-separated names)")
	out := flag.String("out", "internal/offsets/table.txt", "table to write")
	cache := flag.String("cache", defaultCache(), "build cache directory")
	months := flag.Int("months", 24, "library releases of the last N months")
	maxVersions := flag.Int("max-versions", 0, "at most N versions per library, newest first (0: all)")
	partial := flag.Bool("partial", false, "write the table from the builds done so far")
	listOnly := flag.Bool("list", false, "only list (and cache) the library versions, building nothing")
	keep := flag.Bool("keep", false, "with -only: write the table, keeping the modules this run does not build from the table at -out")
	flag.Parse()
	start := time.Now()
	g := &gen{cache: *cache, since: time.Now().AddDate(0, -*months, 0), maxVersions: *maxVersions, partial: *partial, listOnly: *listOnly, keep: *keep}
	if err := g.run(*only, *budget, *out); err != nil {
		fmt.Fprintln(os.Stderr, "offsetgen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "offsetgen: done in %v\n", time.Since(start).Round(time.Second))
}

func defaultCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "sonde-offsetgen")
}

type gen struct {
	cache       string
	since       time.Time
	maxVersions int
	partial     bool
	listOnly    bool
	keep        bool
	fields      []offsets.Field
	toolchains  []toolchain
	built       int
	failed      []string
}

// build is one program build's result, cached: every member offset (and
// the size, offsets.SizeName) of every struct of the packages that the
// declared fields name, so that a field added later to a struct already
// covered needs no new build.
type build struct {
	Target, Module, Version, Go, Arch string
	Err                               string `json:",omitempty"`
	// Modules maps the build's modules to their versions (std: the Go
	// version) and Dirs to their source directories.
	Modules, Dirs map[string]string
	// Packages are the packages read; Structs their structs' members.
	Packages []string
	Structs  map[string]map[string]int64
}

// targetModule reports whether m is the library of a target.
func targetModule(m string) bool {
	for _, t := range targets {
		if t.module == m && !t.latest {
			return true
		}
	}
	return false
}

// packages returns the packages of the declared fields.
func (g *gen) packages() []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range g.fields {
		if p := offsets.PackageOf(f.Struct); !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// observations turns a build into observations of the declared fields of
// the modules it was built for: its library's (and those of modules it
// brings, genproto's for grpc) for a library build, std's for a std build.
func (g *gen) observations(b build) []offsets.Observation {
	var out []offsets.Observation
	for _, fl := range g.fields {
		m, ok := offsets.ModuleOf(fl.Struct, b.Modules)
		if !ok || (b.Version == "") != (m == offsets.Std) || (m != b.Module && targetModule(m)) {
			continue // another target's library: its own builds link what the probes read
		}
		o := offsets.Observation{Module: m, Version: b.Modules[m], Arch: b.Arch, Field: fl, Offset: -1}
		if off, ok := b.Structs[fl.Struct][fl.Name]; ok {
			o.Offset = off
			o.Source = declFile(b.Dirs[m], m, fl.Struct)
		}
		out = append(out, o)
	}
	return out
}

func (g *gen) run(only string, budget time.Duration, out string) error {
	g.fields = declaredFields()
	g.toolchains = toolchains()
	if len(g.toolchains) == 0 {
		return errors.New("no Go toolchain found")
	}
	var names []string
	for _, tc := range g.toolchains {
		names = append(names, tc.version)
	}
	fmt.Fprintf(os.Stderr, "offsetgen: %d fields, toolchains %s\n", len(g.fields), strings.Join(names, " "))
	deadline := time.Time{}
	if budget > 0 {
		deadline = time.Now().Add(budget)
	}
	var all []offsets.Observation
	pending := 0
	for _, t := range targets {
		if only != "" && !slices.Contains(strings.Split(only, ","), t.name) {
			continue
		}
		if g.listOnly {
			if t.module != "" {
				vs, err := g.versions(t)
				if err != nil {
					return err
				}
				fmt.Fprintf(os.Stderr, "offsetgen: %s: %d versions: %s\n", t.module, len(vs), strings.Join(vs, " "))
			}
			continue
		}
		jobs, err := g.jobs(t)
		if err != nil {
			return fmt.Errorf("listing versions of %s: %w", t.module, err)
		}
		for _, j := range jobs {
			b, ok := g.cached(j)
			if !ok {
				if !deadline.IsZero() && time.Now().After(deadline) {
					pending++
					continue
				}
				b = g.buildOne(j)
			}
			if b.Err != "" {
				g.failed = append(g.failed, fmt.Sprintf("%s %s %s %s: %s", b.Target, b.Version, b.Go, b.Arch, firstLine(b.Err)))
				continue
			}
			all = append(all, g.observations(b)...)
		}
	}
	for _, f := range g.failed {
		fmt.Fprintln(os.Stderr, "offsetgen: build failed (left out):", f)
	}
	if g.listOnly {
		return nil
	}
	if pending > 0 && !g.partial {
		return fmt.Errorf("%d builds left after the budget (%d done this run): run again", pending, g.built)
	}
	if only != "" && !g.keep {
		fmt.Fprintf(os.Stderr, "offsetgen: -only given: %d observations, table not written\n", len(all))
		return nil
	}
	if only != "" {
		kept, err := g.kept(out, all)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "offsetgen: -keep: %d observations built, %d kept from %s\n", len(all), len(kept), out)
		all = append(all, kept...)
	}
	tab, err := offsets.Compress(all)
	if err != nil {
		return err
	}
	if err := checkCoverage(tab, g.fields); err != nil {
		if !g.partial {
			return err
		}
		fmt.Fprintln(os.Stderr, "offsetgen: partial table:", err)
	}
	var buf bytes.Buffer
	if err := tab.Encode(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "offsetgen: wrote %s: %d bytes, %d fields, %d observations, %d builds this run\n", out, buf.Len(), len(tab.Fields), len(all), g.built)
	return nil
}

// kept reads the table at path and returns, as observations, its entries
// for the declared fields of every module that built has no observation
// of (-keep).
func (g *gen) kept(path string, built []offsets.Observation) ([]offsets.Observation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the table to keep: %w", err)
	}
	tab, err := offsets.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("decoding %s: %w", path, err)
	}
	skip := map[string]bool{}
	for _, o := range built {
		skip[o.Module] = true
	}
	return expand(tab, g.fields, skip), nil
}

// expand turns the table's entries for fields back into observations: one
// per known version and arch of each field's module, skipping the modules
// in skip. Compress of the result gives the same table.
func expand(tab *offsets.VersionTable, fields []offsets.Field, skip map[string]bool) []offsets.Observation {
	var out []offsets.Observation
	for _, f := range fields {
		fr := tab.Fields[f]
		if fr == nil || skip[fr.Module] {
			continue
		}
		known := tab.Known[fr.Module]
		var as []string
		if _, ok := known[offsets.AnyArch]; ok {
			as = arches
		} else {
			for a := range known {
				as = append(as, a)
			}
			sort.Strings(as)
		}
		for _, a := range as {
			vs, ok := known[a]
			if !ok {
				vs = known[offsets.AnyArch]
			}
			for _, r := range fr.Runs {
				if r.Arch != a && r.Arch != offsets.AnyArch {
					continue
				}
				from, to := slices.Index(vs, r.From), slices.Index(vs, r.To)
				if from < 0 || to < from {
					continue // not a run of this arch's known versions
				}
				for _, v := range vs[from : to+1] {
					out = append(out, offsets.Observation{Module: fr.Module, Version: v, Arch: a, Field: f, Offset: r.Offset, Source: r.Source})
				}
			}
		}
	}
	return out
}

// declaredFields are the fields of every probe and of the shared headers.
func declaredFields() []offsets.Field {
	seen := map[offsets.Field]bool{}
	var out []offsets.Field
	add := func(fs []offsets.Field) {
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	add(probe.CommonFields())
	for _, p := range probes.All() {
		req, opt := p.Fields()
		add(req)
		add(opt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// checkCoverage fails when a declared field has no observation at all.
func checkCoverage(tab *offsets.VersionTable, fields []offsets.Field) error {
	var missing []string
	for _, f := range fields {
		fr := tab.Fields[f]
		found := false
		if fr != nil {
			for _, r := range fr.Runs {
				if r.Offset >= 0 {
					found = true
				}
			}
		}
		if !found {
			missing = append(missing, f.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no build has %s: add it to a testdata program", strings.Join(missing, ", "))
	}
	return nil
}

// toolchains returns the Go toolchains installed here, oldest first:
// Debian's golang-1.N packages, the go on PATH and go1.27.3 through
// GOTOOLCHAIN (fetched through the module proxy).
func toolchains() []toolchain {
	var out []toolchain
	seen := map[string]bool{}
	try := func(bin string, env ...string) {
		cmd := exec.Command(bin, "env", "GOVERSION")
		cmd.Env = append(os.Environ(), env...)
		b, err := cmd.Output()
		v := strings.TrimSpace(string(b))
		if err != nil || !strings.HasPrefix(v, "go1.") || seen[v] {
			return
		}
		seen[v] = true
		out = append(out, toolchain{bin: bin, env: env, version: v})
	}
	debian, _ := filepath.Glob("/usr/lib/go-1.*/bin/go")
	for _, b := range debian {
		try(b, "GOTOOLCHAIN=local")
	}
	if p, err := exec.LookPath("go"); err == nil {
		try(p, "GOTOOLCHAIN=local")
		try(p, "GOTOOLCHAIN=go1.27.3")
	}
	sort.Slice(out, func(i, j int) bool {
		return semver.Compare("v"+strings.TrimPrefix(out[i].version, "go"), "v"+strings.TrimPrefix(out[j].version, "go")) < 0
	})
	return out
}

// job is one build to do.
type job struct {
	t       target
	version string // library version; "" for std
	tc      toolchain
	arch    string
}

func (j job) key() string {
	v := j.version
	if v == "" {
		v = "std"
	}
	name := j.t.name
	if j.t.latest {
		name += "+" + path.Base(j.t.module)
	}
	return strings.ReplaceAll(fmt.Sprintf("%s@%s-%s-%s", name, v, j.tc.version, j.arch), "/", "_")
}

// jobs lists the builds of one target.
func (g *gen) jobs(t target) ([]job, error) {
	var out []job
	if t.module == "" {
		for _, tc := range g.toolchains {
			for _, a := range arches {
				out = append(out, job{t: t, tc: tc, arch: a})
			}
		}
		return out, nil
	}
	versions, err := g.versions(t)
	if err != nil {
		return nil, err
	}
	newest := g.toolchains[len(g.toolchains)-1]
	// The machine's own Go builds libraries; go1.27.3 only those that
	// need it (a library whose go line is newer than the local Go).
	for _, tc := range g.toolchains {
		if !strings.Contains(strings.Join(tc.env, " "), "go1.27") {
			newest = tc
		}
	}
	for _, v := range versions {
		tcs := []toolchain{newest}
		if t.allGo {
			tcs = g.toolchains
		}
		for _, tc := range tcs {
			for _, a := range arches {
				out = append(out, job{t: t, version: v, tc: tc, arch: a})
			}
		}
	}
	return out, nil
}

// versions lists the module's releases (no pre-releases) through the
// module proxy: those published in the last months, or, for a probe with
// a minimum version, every one from it.
func (g *gen) versions(t target) ([]string, error) {
	cacheFile := filepath.Join(g.cache, "versions-"+strings.ReplaceAll(t.module, "/", "_")+".json")
	var vs []string
	if b, err := os.ReadFile(cacheFile); err == nil && json.Unmarshal(b, &vs) == nil {
		return g.limit(t, vs), nil
	}
	if t.latest {
		cmd := exec.Command("go", "list", "-m", "-json", t.module+"@latest")
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
		cmd.Dir = os.TempDir()
		b, err := cmd.Output()
		if err != nil {
			return nil, err
		}
		var m struct{ Version string }
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		return []string{m.Version}, nil
	}
	cmd := exec.Command("go", "list", "-m", "-versions", "-json", t.module)
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	cmd.Dir = os.TempDir()
	b, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var m struct{ Versions []string }
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for _, v := range m.Versions {
		if semver.Prerelease(v) != "" || (t.min != "" && semver.Compare(v, t.min) < 0) {
			continue
		}
		info := exec.Command("go", "list", "-m", "-json", t.module+"@"+v)
		info.Env = cmd.Env
		info.Dir = cmd.Dir
		ib, err := info.Output()
		if err != nil {
			continue // listed but not served
		}
		var mi struct{ Time time.Time }
		if json.Unmarshal(ib, &mi) != nil || (t.min == "" && mi.Time.Before(g.since)) {
			continue // a probe with a minimum version gets every release from it
		}
		vs = append(vs, v)
	}
	if err := os.MkdirAll(g.cache, 0o755); err != nil {
		return nil, err
	}
	b, _ = json.Marshal(vs)
	if err := os.WriteFile(cacheFile, b, 0o644); err != nil {
		return nil, err
	}
	return g.limit(t, vs), nil
}

func (g *gen) limit(t target, vs []string) []string {
	if n := g.maxVersions; n > 0 && len(vs) > n {
		return vs[len(vs)-n:]
	}
	return vs
}

func (g *gen) cached(j job) (build, bool) {
	var b build
	data, err := os.ReadFile(filepath.Join(g.cache, j.key()+".json"))
	if err != nil || json.Unmarshal(data, &b) != nil {
		return build{}, false
	}
	for _, p := range g.packages() {
		if !slices.Contains(b.Packages, p) && b.Err == "" && g.reads(b, p) {
			return build{}, false // a package of this build's modules declared since
		}
	}
	return b, true
}

// reads reports whether build b records the fields of package p (see
// observations).
func (g *gen) reads(b build, p string) bool {
	m, ok := offsets.ModuleOf(p+".T", b.Modules)
	return ok && (b.Version == "") == (m == offsets.Std) && (m == b.Module || !targetModule(m))
}

// buildOne builds a job's program, reads its structs and caches the
// result (a failed build too: a library version that needs a newer Go).
func (g *gen) buildOne(j job) build {
	g.built++
	t0 := time.Now()
	b, err := g.observe(j)
	b.Target, b.Module, b.Version, b.Go, b.Arch = j.t.name, j.t.module, j.version, j.tc.version, j.arch
	b.Packages = g.packages()
	if err != nil {
		b.Err = err.Error()
	}
	fmt.Fprintf(os.Stderr, "offsetgen: %s (%v)%s\n", j.key(), time.Since(t0).Round(100*time.Millisecond), map[bool]string{true: ": " + firstLine(b.Err), false: ""}[err != nil])
	if data, err := json.Marshal(b); err == nil {
		os.MkdirAll(g.cache, 0o755)
		os.WriteFile(filepath.Join(g.cache, j.key()+".json"), data, 0o644)
	}
	return b
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

var goLineRE = regexp.MustCompile(`^go(1\.\d+)`)

// observe builds the program of j and reads the members of the structs
// of the declared fields' packages from its DWARF.
func (g *gen) observe(j job) (build, error) {
	var b build
	dir, err := os.MkdirTemp("", "offsetgen-")
	if err != nil {
		return b, err
	}
	defer os.RemoveAll(dir)
	src, err := os.ReadFile(filepath.Join("internal/tools/offsetgen/testdata", j.t.name, "main.go"))
	if err != nil {
		return b, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), src, 0o644); err != nil {
		return b, err
	}
	goLine := goLineRE.FindStringSubmatch(j.tc.version)[1]
	mod := "module offsetgen\n\ngo " + goLine + "\n"
	if j.version != "" {
		mod += "\nrequire " + j.t.module + " " + j.version + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o644); err != nil {
		return b, err
	}
	env := append(os.Environ(), "GOWORK=off", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	env = append(env, j.tc.env...)
	run := func(args ...string) error {
		cmd := exec.Command(j.tc.bin, args...)
		cmd.Dir = dir
		cmd.Env = append(env, "GOARCH="+j.arch)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	if j.version != "" {
		// Keep the library at j.version: tidy does not move it, but a
		// dependency that needs a newer go line fails here.
		if err := run("mod", "tidy"); err != nil {
			return b, err
		}
	}
	exe := filepath.Join(dir, "prog")
	if err := run("build", "-trimpath", "-buildvcs=false", "-o", exe, "."); err != nil {
		return b, err
	}
	f, err := binary.Open(exe)
	if err != nil {
		return b, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return b, err
	}
	b.Modules = f.Modules()
	b.Modules[offsets.Std] = f.GoVersion()
	if j.version != "" && b.Modules[j.t.module] != j.version {
		return b, fmt.Errorf("built %s %s, wanted %s", j.t.module, b.Modules[j.t.module], j.version)
	}
	pkgs := map[string]bool{}
	for _, p := range g.packages() {
		pkgs[p] = true
	}
	if b.Structs, err = structMembers(d, pkgs); err != nil {
		return b, err
	}
	b.Dirs = g.sourceDirs(j, b.Modules, dir, env)
	return b, nil
}

// structMembers reads the members and size of every struct type of DWARF
// data d whose package is in pkgs (the first definition of each name).
func structMembers(d *dwarf.Data, pkgs map[string]bool) (map[string]map[string]int64, error) {
	out := map[string]map[string]int64{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("reading DWARF: %w", err)
		}
		if e == nil {
			return out, nil
		}
		if e.Tag == dwarf.TagCompileUnit || e.Tag == 0 {
			continue
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if e.Tag != dwarf.TagStructType || !e.Children || !pkgs[offsets.PackageOf(name)] || out[name] != nil {
			if e.Children {
				r.SkipChildren()
			}
			continue
		}
		m := map[string]int64{}
		if n, ok := e.Val(dwarf.AttrByteSize).(int64); ok {
			m[offsets.SizeName] = n
		}
		for {
			c, err := r.Next()
			if err != nil {
				return nil, fmt.Errorf("reading DWARF: %w", err)
			}
			if c == nil || c.Tag == 0 {
				break
			}
			if c.Children {
				r.SkipChildren()
			}
			if c.Tag != dwarf.TagMember {
				continue
			}
			mn, _ := c.Val(dwarf.AttrName).(string)
			if off, ok := c.Val(dwarf.AttrDataMemberLoc).(int64); ok && mn != "" {
				m[mn] = off
			}
		}
		out[name] = m
	}
}

// sourceDirs returns the source directory of each module of the build
// (GOROOT/src for std).
func (g *gen) sourceDirs(j job, mods map[string]string, dir string, env []string) map[string]string {
	out := map[string]string{}
	cmd := exec.Command(j.tc.bin, "env", "GOROOT")
	cmd.Env = env
	cmd.Dir = dir
	if b, err := cmd.Output(); err == nil {
		out[offsets.Std] = filepath.Join(strings.TrimSpace(string(b)), "src")
	}
	if j.version == "" {
		return out
	}
	cmd = exec.Command(j.tc.bin, "list", "-m", "-json", "all")
	cmd.Env = env
	cmd.Dir = dir
	b, err := cmd.Output()
	if err != nil {
		return out
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var m struct{ Path, Dir string }
		if dec.Decode(&m) != nil {
			break
		}
		if _, ok := mods[m.Path]; ok && m.Dir != "" {
			out[m.Path] = m.Dir
		}
	}
	return out
}

// declFile returns the path, relative to its module ("net/http/request.go"
// for std; "internal/transport/transport.go" for grpc), of the file that
// declares struct s, or "" when it is not found.
func declFile(modDir, module, s string) string {
	if modDir == "" {
		return ""
	}
	pkg := offsets.PackageOf(s)
	rel := strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")
	if module == offsets.Std {
		rel = pkg
	}
	name := strings.TrimPrefix(s, pkg+".")
	re := regexp.MustCompile(`(?m)^(?:type\s+|\s+)` + regexp.QuoteMeta(name) + `(?:\[[^\]]*\])?\s+struct\b`)
	files, _ := filepath.Glob(filepath.Join(modDir, rel, "*.go"))
	// Linux's file first: others (fd_fake.go, fd_windows.go) declare
	// the same struct for other systems.
	sort.SliceStable(files, func(i, j int) bool { return otherOS(files[j]) && !otherOS(files[i]) })
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		if b, err := os.ReadFile(f); err == nil && re.Match(b) {
			return filepath.ToSlash(filepath.Join(rel, filepath.Base(f)))
		}
	}
	return ""
}

// otherOS reports whether a file name says it is for a system other
// than Linux.
func otherOS(f string) bool {
	for _, s := range []string{"_fake", "_windows", "_plan9", "_wasip1", "_js", "_wasm", "_darwin", "_bsd", "_solaris", "_aix", "_illumos", "_openbsd", "_netbsd", "_freebsd", "_dragonfly", "_ios"} {
		if strings.Contains(filepath.Base(f), s) {
			return true
		}
	}
	return false
}
