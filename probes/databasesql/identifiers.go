package databasesql

import (
	"regexp"
	"strconv"
	"strings"

	sqllexer "github.com/DataDog/go-sqllexer"
)

// quoteIdentifiers rewrites the identifier quotes the lexer does not know
// in dbms into the double quotes it does, for parsing only: SQLite (and
// the generic dialect) accept `name`, [name] and "name" alike, but the
// lexer reads only "name" there; MySQL's `name` and SQL Server's [name]
// are native to those dialects and left alone. String literals ('...') are
// skipped.
func quoteIdentifiers(q string, dbms sqllexer.DBMSType) string {
	if dbms != "" || (!strings.ContainsAny(q, "`[")) {
		return q
	}
	var b strings.Builder
	b.Grow(len(q))
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch c {
		case '\'':
			j := i + 1
			for j < len(q) && !(q[j] == '\'' && (j+1 >= len(q) || q[j+1] != '\'')) {
				if q[j] == '\'' {
					j++ // '' inside a literal
				}
				j++
			}
			b.WriteString(q[i:min(j+1, len(q))])
			i = j
		case '`', '[':
			end := byte('`')
			if c == '[' {
				end = ']'
			}
			j := strings.IndexByte(q[i+1:], end)
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteByte('"')
			b.WriteString(strings.ReplaceAll(q[i+1:i+1+j], `"`, `""`))
			b.WriteByte('"')
			i += j + 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// typeLength matches a type with a length, precision or scale, such as
// VARCHAR(255) or DECIMAL(10, 2): the numbers describe the schema, not the
// data, so the sanitizer keeps them.
var typeLength = regexp.MustCompile(`(?i)\b(varchar|nvarchar|char|nchar|character varying|character|varbinary|binary|bit varying|varbit|bit|decimal|numeric|dec|float|real|double precision|time|timestamp|timetz|timestamptz|datetime2|datetimeoffset|interval|raw)\s*\(\s*\d+\s*(,\s*\d+\s*)?\)`)

// protectTypes replaces every type length of q by a placeholder identifier
// the lexer keeps, and returns a function that puts them back.
func protectTypes(q string) (string, func(string) string) {
	var kept []string
	p := typeLength.ReplaceAllStringFunc(q, func(m string) string {
		kept = append(kept, m)
		return "sonde_type_" + strconv.Itoa(len(kept)-1) + "_"
	})
	if len(kept) == 0 {
		return q, func(s string) string { return s }
	}
	return p, func(s string) string {
		for i := len(kept) - 1; i >= 0; i-- {
			s = strings.ReplaceAll(s, "sonde_type_"+strconv.Itoa(i)+"_", kept[i])
		}
		return s
	}
}
