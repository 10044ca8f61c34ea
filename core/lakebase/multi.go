package lakebase

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file runs SQL holding several statements ("DROP TABLE IF EXISTS t;
// CREATE TABLE t (id int)") as psycopg does: without parameters, through
// the simple query protocol, the one that takes several statements in one
// message. Everything else keeps the extended protocol (binary results,
// cached prepared statements).

// multiStatement reports whether sql holds more than one statement: a
// semicolon outside quotes, quoted identifiers, comments and dollar
// quotes, followed by anything but blanks, comments and semicolons.
// Strings are read as with standard_conforming_strings on (PostgreSQL's
// default), E'...' strings with their backslash escapes.
func multiStatement(sql string) bool {
	ended := false // a top-level semicolon was seen
	for i := 0; i < len(sql); {
		ch := sql[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			i++
			continue
		case ch == ';':
			ended = true
			i++
			continue
		case ch == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
			continue
		case ch == '/' && i+1 < len(sql) && sql[i+1] == '*':
			i = skipBlockComment(sql, i)
			continue
		}
		if ended {
			return true // a statement after a semicolon
		}
		switch {
		case ch == '\'':
			i = skipQuoted(sql, i+1, '\'', i > 0 && (sql[i-1] == 'e' || sql[i-1] == 'E') && !identByte(sql, i-2))
		case ch == '"':
			i = skipQuoted(sql, i+1, '"', false)
		case ch == '$':
			i = skipDollar(sql, i)
		case identByte(sql, i):
			for i < len(sql) && identByte(sql, i) {
				i++
			}
			// A string right after a word: E'...' is one token; the
			// word ends here and the quote is read next round, with its
			// E prefix seen through sql[i-1].
		default:
			i++
		}
	}
	return false
}

// identByte reports whether sql[i] may be part of an identifier or
// keyword (false for i < 0). A $ inside one ("a$b") is too.
func identByte(sql string, i int) bool {
	if i < 0 || i >= len(sql) {
		return false
	}
	c := sql[i]
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

// skipQuoted returns the index after the quote that closes the string or
// identifier starting at i (after its opening quote); a doubled quote is
// a quote inside it, and with backslashes (E'...') a backslash escapes the
// byte after it. Unterminated, it is the end of sql.
func skipQuoted(sql string, i int, quote byte, backslashes bool) int {
	for i < len(sql) {
		switch sql[i] {
		case '\\':
			if backslashes {
				i += 2
				continue
			}
		case quote:
			if i+1 < len(sql) && sql[i+1] == quote {
				i += 2
				continue
			}
			return i + 1
		}
		i++
	}
	return len(sql)
}

// firstWord is sql's first word (a keyword, upper-cased), after blanks
// and comments; "" when sql starts otherwise.
func firstWord(sql string) string {
	for i := 0; i < len(sql); {
		switch ch := sql[i]; {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v':
			i++
		case ch == '-' && i+1 < len(sql) && sql[i+1] == '-':
			for i < len(sql) && sql[i] != '\n' {
				i++
			}
		case ch == '/' && i+1 < len(sql) && sql[i+1] == '*':
			i = skipBlockComment(sql, i)
		default:
			j := i
			for j < len(sql) && identByte(sql, j) {
				j++
			}
			return strings.ToUpper(sql[i:j])
		}
	}
	return ""
}

// skipBlockComment returns the index after the /* ... */ comment at i;
// they nest, as in PostgreSQL.
func skipBlockComment(sql string, i int) int {
	depth := 0
	for i < len(sql) {
		switch {
		case sql[i] == '/' && i+1 < len(sql) && sql[i+1] == '*':
			depth++
			i += 2
		case sql[i] == '*' && i+1 < len(sql) && sql[i+1] == '/':
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(sql)
}

// skipDollar returns the index after the dollar-quoted string starting at
// i ($$...$$ or $tag$...$tag$), or after the $ alone when none starts
// there (a $1 placeholder; a $ inside a word never reaches here).
func skipDollar(sql string, i int) int {
	j := i + 1
	if j < len(sql) && sql[j] >= '0' && sql[j] <= '9' {
		return j // $n
	}
	for j < len(sql) && sql[j] != '$' && identByte(sql, j) {
		j++
	}
	if j >= len(sql) || sql[j] != '$' {
		return i + 1
	}
	tag := sql[i : j+1]
	for k := j + 1; k+len(tag) <= len(sql); k++ {
		if sql[k:k+len(tag)] == tag {
			return k + len(tag)
		}
	}
	return len(sql)
}

// simpleQuery runs sql (several statements, no parameters) through the
// simple query protocol and returns the last statement's result, its rows
// read into memory (the earlier results are read and dropped). The first
// error is returned instead; as in psycopg, the statements before it took
// effect unless they ran in one transaction (the server runs a message's
// statements in one implicit transaction, unless they hold their own).
func (c *Conn) simpleQuery(ctx context.Context, sql string) (pgx.Rows, error) {
	results, err := c.pg.Exec(ctx, sql).ReadAll()
	for _, r := range results { // those before an error ran too
		c.noteTag(r.CommandTag)
	}
	if err != nil {
		return nil, err
	}
	last := &pgconn.Result{}
	if len(results) > 0 {
		last = results[len(results)-1]
	}
	return &bufferedRows{res: last, conn: c.c, m: c.c.TypeMap()}, nil
}

// bufferedRows is pgx.Rows over a result read into memory (its values in
// text form, as the simple query protocol sends them).
type bufferedRows struct {
	res  *pgconn.Result
	conn *pgx.Conn
	m    *pgtype.Map
	next int // the row after the current one
}

func (r *bufferedRows) Close()                                       {}
func (r *bufferedRows) Err() error                                   { return nil }
func (r *bufferedRows) CommandTag() pgconn.CommandTag                { return r.res.CommandTag }
func (r *bufferedRows) FieldDescriptions() []pgconn.FieldDescription { return r.res.FieldDescriptions }
func (r *bufferedRows) RawValues() [][]byte                          { return r.res.Rows[r.next-1] }
func (r *bufferedRows) Conn() *pgx.Conn                              { return r.conn }
func (r *bufferedRows) TypeMap() *pgtype.Map                         { return r.m }

func (r *bufferedRows) Next() bool {
	if r.next >= len(r.res.Rows) {
		return false
	}
	r.next++
	return true
}

func (r *bufferedRows) Scan(dest ...any) error {
	return pgx.ScanRow(r.m, r.res.FieldDescriptions, r.RawValues(), dest...)
}

// Values decodes the current row as pgx's own rows do.
func (r *bufferedRows) Values() ([]any, error) {
	raw := r.RawValues()
	values := make([]any, len(raw))
	for i, buf := range raw {
		if buf == nil {
			continue
		}
		fd := r.res.FieldDescriptions[i]
		dt, ok := r.m.TypeForOID(fd.DataTypeOID)
		if !ok {
			values[i] = string(buf)
			continue
		}
		v, err := dt.Codec.DecodeValue(r.m, fd.DataTypeOID, fd.Format, buf)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	return values, nil
}
