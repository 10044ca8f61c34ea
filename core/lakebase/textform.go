package lakebase

import (
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// This file gives the values of types outside lakelink's type table
// (types.go) as PostgreSQL prints them: their columns are asked for in
// the text format, and their values are that text, never pgx's decoding
// of it (pgx prints an inet 10.0.0.1 as "10.0.0.1/32", an empty "char" as
// "\x00", a range or a record in Go's %v form).

// tableFormats is the result format of each type of the table (pgx's own
// choice for it); every other type is sent in text format. It is made on
// the first statement, not when the package loads, so that a program
// running none (lakelink.wasm) links none of pgx's codecs: 1.4 MB of it.
func tableFormats() pgx.QueryResultFormatsByOID {
	tableFormatsOnce.Do(func() {
		m := pgtype.NewMap()
		tableFormatsByOID = make(pgx.QueryResultFormatsByOID, len(typesByOID))
		for oid := range typesByOID {
			tableFormatsByOID[oid] = m.FormatCodeForOID(oid)
		}
	})
	return tableFormatsByOID
}

var (
	tableFormatsOnce  sync.Once
	tableFormatsByOID pgx.QueryResultFormatsByOID
)

// withTableFormats returns a statement's arguments for pgx's Query, asking
// for tableFormats(), unless they ask for result formats themselves.
func withTableFormats(args []any) []any {
	if len(args) > 0 {
		switch args[0].(type) {
		case pgx.QueryResultFormats, pgx.QueryResultFormatsByOID:
			return args
		}
	}
	return append([]any{tableFormats()}, args...)
}

// textColumns are the indexes of the columns of fields whose values are
// their PostgreSQL text form: outside the table, sent in text format.
func textColumns(fields []pgconn.FieldDescription) []int {
	var cols []int
	for i, f := range fields {
		if _, ok := typesByOID[f.DataTypeOID]; !ok && f.Format == pgtype.TextFormatCode {
			cols = append(cols, i)
		}
	}
	return cols
}

// rowValues is rows.Values() with the text of the columns textCols names
// as strings; m is the session's type map (rows of a pipeline have no
// Conn to ask).
func rowValues(rows pgx.Rows, textCols []int, m *pgtype.Map) ([]any, error) {
	if len(textCols) == 0 {
		return rows.Values()
	}
	fields, raw := rows.FieldDescriptions(), rows.RawValues()
	values := make([]any, len(raw))
	next := 0 // into textCols
	for i, buf := range raw {
		if next < len(textCols) && textCols[next] == i {
			next++
			if buf != nil {
				values[i] = string(buf)
			}
			continue
		}
		if buf == nil {
			continue
		}
		f := fields[i]
		t, ok := m.TypeForOID(f.DataTypeOID)
		if !ok { // not reached: such a column is in textCols or binary, which pgx knows
			values[i] = append([]byte(nil), buf...)
			continue
		}
		v, err := t.Codec.DecodeValue(m, f.DataTypeOID, f.Format, buf)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	return values, nil
}
