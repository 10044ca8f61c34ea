package lakebase

import (
	"fmt"
)

// Format is an encoding of a batch of result rows, the unit in which rows
// cross an export's ABI: one buffer per batch, never one call per value.
// Each format also names how the exports' parameter lists are encoded
// (see DecodeParams). TYPES.md specifies both byte by byte for binding
// authors; bench/decode/RESULTS.md has the measurements behind the
// choice.
type Format string

// The batch formats.
const (
	// FormatColumnar is lakelink's compact binary layout: a header, then
	// each column's values together (fixed-width little-endian arrays,
	// NUL-joined UTF-8 texts, offset-indexed bytes) after a map of its
	// NULLs. A decoder reads a column with a few whole-column operations
	// (typed arrays, one UTF-8 decode and a split), so it costs little per
	// value in any language. The Node binding reads it; so can any FFI
	// user. Version 1.
	FormatColumnar Format = "columnar"
	// FormatPickle is a Python pickle (protocol 4) of the rows as the
	// Python objects themselves (int, float, Decimal, str, bytes, date,
	// time, datetime, timedelta, UUID, lists, parsed JSON), which
	// pickle.loads builds in C: measured 1.6 to 3 times faster to decode in
	// Python than FormatColumnar, 3 to 4 times faster than JSON. The
	// Python binding reads it, with an unpickler restricted to
	// the few globals TYPES.md lists. Values Python cannot represent (a
	// date before year 1, infinity, 24:00:00) make the batch fail with an
	// error naming the column and row. Version 1.
	FormatPickle Format = "pickle"
)

// DefaultFormat is the format the exports use unless a binding asks for
// another.
const DefaultFormat = FormatColumnar

// formatVersion is the version every format carries.
const formatVersion = 1

// Magic numbers that start a columnar batch and a parameter list.
const (
	columnarMagic = "LLCB"
	paramsMagic   = "LLPB"
)

// EncodeBatch encodes rows, as rows.Values() returns them (with a default
// type map, or one prepared by ConfigureTypeMap; TYPES.md lists the Go
// types), of the columns cols in format. Every row must have one value per
// column; nil is NULL. An error names the column, the row and what is
// wrong, and comes with no batch.
func EncodeBatch(format Format, cols []Column, rows [][]any) ([]byte, error) {
	for i, r := range rows {
		if len(r) != len(cols) {
			return nil, fmt.Errorf("lakebase: encoding a batch: row %d has %d values for %d columns", i, len(r), len(cols))
		}
	}
	switch format {
	case FormatColumnar:
		return encodeColumnar(cols, rows)
	case FormatPickle:
		return encodePickle(cols, rows)
	}
	return nil, fmt.Errorf("lakebase: unknown batch format %q (want %q or %q)", format, FormatColumnar, FormatPickle)
}

// valueError says which value of a batch could not be encoded.
func valueError(cols []Column, col, row int, err error) error {
	c := cols[col]
	name := c.TypeName
	if name == "" {
		name = fmt.Sprintf("OID %d", c.TypeOID)
	}
	return &DataError{SQLState: "22000", Err: fmt.Errorf("lakebase: encoding a batch: column %d %q (%s), row %d: %w", col, c.Name, name, row, err)}
}
