package auto

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocListsEnvironment: doc.go lists every variable Sonde reads, each
// probe setting with its default, and no variable that nothing reads.
func TestDocListsEnvironment(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// The comment text, lines joined: an entry may wrap.
	var b strings.Builder
	for line := range strings.Lines(string(src)) {
		if rest, ok := strings.CutPrefix(line, "//"); ok {
			b.WriteString(strings.TrimSpace(rest) + " ")
		}
	}
	doc := b.String()

	decls := declared(t)
	known := append(slices.Clone(rootEnv), envConstants(t)...)
	for _, d := range decls {
		if slices.Contains(rootEnv, d.Env) {
			t.Errorf("probe setting %s has the name of one of Sonde's own variables", d.Env)
		}
		known = append(known, d.Env)
		if entry := "- " + d.Env + " (default " + d.Default + "):"; !strings.Contains(doc, entry) {
			t.Errorf("doc.go does not list the probe setting %s as %q", d.Env, entry)
		}
	}
	for _, v := range known {
		if (slices.Contains(rootEnv, v) || strings.HasPrefix(v, "OTEL_GO_AUTO_")) && !strings.Contains(doc, "- "+v) {
			t.Errorf("doc.go does not list %s", v)
		}
	}
	for _, v := range regexp.MustCompile(`OTEL_GO_AUTO_[A-Z0-9_]+`).FindAllString(doc, -1) {
		if !slices.Contains(known, v) {
			t.Errorf("doc.go lists %s, which Sonde does not read", v)
		}
	}
}
