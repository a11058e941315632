package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// table is text in sections of rows whose cells are aligned across all
// sections.
type table struct {
	lines []tableLine
}

type tableLine struct {
	header string   // a section header when cells is nil
	cells  []string // a row
}

func (t *table) section(title string) { t.lines = append(t.lines, tableLine{header: title}) }

func (t *table) row(cells ...string) { t.lines = append(t.lines, tableLine{cells: cells}) }

// write prints the sections, a blank line between them, rows indented by
// two spaces and cells separated by at least two.
func (t *table) write(w io.Writer) error {
	var widths []int
	for _, l := range t.lines {
		for i, c := range l.cells[:max(len(l.cells)-1, 0)] { // the last cell is not padded
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for i, l := range t.lines {
		if l.cells == nil {
			if i > 0 {
				b.WriteString("\n")
			}
			b.WriteString(l.header + "\n")
			continue
		}
		b.WriteString("  ")
		for j, c := range l.cells {
			b.WriteString(c)
			if j < len(l.cells)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)+2))
			}
		}
		b.WriteString("\n")
	}
	_, err := fmt.Fprint(w, b.String())
	return err
}
