package auto

import (
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sonde-go/auto/internal/probe"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table from Environment()")

// envName is a whole variable name, as the constants spell them.
var envName = regexp.MustCompile(`^OTEL_[A-Z0-9_]+[A-Z0-9]$`)

// envConstants returns the value of every string constant of the root
// package (its non-test files) that is an OTEL_* variable name.
func envConstants(t *testing.T) []string {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				for _, v := range spec.(*ast.ValueSpec).Values {
					lit, ok := v.(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					if s, err := strconv.Unquote(lit.Value); err == nil && envName.MatchString(s) && !slices.Contains(names, s) {
						names = append(names, s)
					}
				}
			}
		}
	}
	if len(names) < 5 {
		t.Fatalf("found %d variable constants: %v", len(names), names)
	}
	return names
}

// TestEnvironmentMatchesCode: Environment lists every variable the root
// package names and every probe setting, with the setting's default, and
// nothing else.
func TestEnvironmentMatchesCode(t *testing.T) {
	env := Environment()
	listed := map[string]EnvVar{}
	for _, v := range env {
		if _, dup := listed[v.Name]; dup {
			t.Errorf("Environment lists %s twice", v.Name)
		}
		listed[v.Name] = v
		if v.Option == "" || v.Doc == "" {
			t.Errorf("%s: no option or no doc: %+v", v.Name, v)
		}
	}
	consts := envConstants(t)
	for _, c := range consts {
		if _, ok := listed[c]; !ok {
			t.Errorf("the root package names %s, which Environment does not list", c)
		}
	}
	decls := declared(t)
	for _, d := range decls {
		v, ok := listed[d.Env]
		if !ok || v.Default != d.Default || v.Doc != d.Doc || !v.WithEnv {
			t.Errorf("probe setting %s (default %s) listed as %+v", d.Env, d.Default, v)
		}
	}
	for _, v := range env {
		known := slices.Contains(consts, v.Name) || v.Name == envOTLPOther ||
			slices.ContainsFunc(decls, func(d probe.Setting) bool { return d.Env == v.Name })
		if !known {
			t.Errorf("Environment lists %s, which the code does not name", v.Name)
		}
	}
	// The defaults are the code's.
	for name, want := range map[string]string{
		envShutdownTimeout: defaultShutdownTimeout.String(),
		envOTLPEndpoint:    defaultOTLPHTTPEndpoint,
		envTracesExporter:  defaultTracesExporter,
		envOTLPProtocol:    defaultOTLPProtocol,
		envConsoleOutput:   defaultConsoleOutput,
	} {
		if got := listed[name].Default; got != want {
			t.Errorf("%s: default %q, the code's is %q", name, got, want)
		}
	}
}

// readmeTable renders Environment as README.md's configuration table.
func readmeTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Overridden by | Read | Meaning |\n|---|---|---|---|---|\n")
	for _, v := range Environment() {
		def := "-"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		read := "always"
		if v.WithEnv {
			read = "WithEnv"
		}
		doc := strings.ReplaceAll(v.Doc, "|", `\|`)
		b.WriteString("| `" + v.Name + "` | " + def + " | `" + v.Option + "` | " + read + " | " + doc + " |\n")
	}
	return b.String()
}

const (
	tableBegin = "<!-- configuration table: TestREADMEConfiguration checks it; go test -run TestREADMEConfiguration -update . rewrites it -->\n"
	tableEnd   = "<!-- end of configuration table -->\n"
)

// TestREADMEConfiguration: README.md's configuration table lists every
// variable of Environment (so every one the code reads) with its default
// and option, and no other.
func TestREADMEConfiguration(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	head, rest, ok := strings.Cut(readme, tableBegin)
	table, tail, ok2 := strings.Cut(rest, tableEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no configuration table between %q and %q", tableBegin, tableEnd)
	}
	want := readmeTable()
	if *update {
		if err := os.WriteFile("README.md", []byte(head+tableBegin+want+tableEnd+tail), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	rows := map[string]string{}
	for line := range strings.Lines(table) {
		if m := regexp.MustCompile("^\\| `([A-Z0-9_*]+)` \\|").FindStringSubmatch(line); m != nil {
			rows[m[1]] = line
		}
	}
	wantRows := map[string]string{}
	for line := range strings.Lines(want) {
		if m := regexp.MustCompile("^\\| `([A-Z0-9_*]+)` \\|").FindStringSubmatch(line); m != nil {
			wantRows[m[1]] = line
		}
	}
	for name, w := range wantRows {
		switch got, ok := rows[name]; {
		case !ok:
			t.Errorf("README.md's table does not list %s", name)
		case got != w:
			t.Errorf("README.md's row of %s:\n%s\nthe code says:\n%s", name, got, w)
		}
	}
	for name := range rows {
		if _, ok := wantRows[name]; !ok {
			t.Errorf("README.md's table lists %s, which Sonde does not read", name)
		}
	}
	if table != want && !t.Failed() {
		t.Errorf("README.md's table is out of order or malformed:\n%s\nwant:\n%s", table, want)
	}
	if t.Failed() {
		t.Log("go test -run TestREADMEConfiguration -update . rewrites the table")
	}
}
