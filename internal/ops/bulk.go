package ops

import (
	"context"
	"errors"

	"github.com/lakelink/lakelink/core/lakebase"
)

// The C library's bulk operations (lakelink.h, "Bulk: executemany and
// COPY"): one statement over many parameter rows, and COPY streamed in
// and out through calls.

// Many is one statement with PostgreSQL's $1..$n placeholders and its
// parameter rows (TYPES.md, "Parameter rows").
type Many struct {
	SQL  string
	Rows []byte
}

// ExecuteMany runs m's statement once per row on c, all rows sent as one
// pipelined batch; it returns the total of rows affected, -1 when a
// statement reports no count.
func ExecuteMany(ctx context.Context, c *lakebase.Conn, m Many) (n int64, err error) {
	defer classify(&err, Database)
	rows, err := lakebase.DecodeParamRows(lakebase.DefaultFormat, m.Rows)
	if err != nil {
		return 0, &ArgumentError{Message: err.Error(), Err: err}
	}
	return c.ExecuteMany(ctx, m.SQL, rows)
}

// StartCopyFrom starts sql, a COPY ... FROM STDIN, on c.
func StartCopyFrom(ctx context.Context, c *lakebase.Conn, sql string) (w *lakebase.CopyIn, err error) {
	defer classify(&err, Database)
	return c.StartCopyFrom(ctx, sql)
}

// CopyWrite sends data, in the COPY's own format.
func CopyWrite(w *lakebase.CopyIn, data []byte) (err error) {
	defer classify(&err, Database)
	return w.Write(data)
}

// CopyWriteRows sends rows in format: "params" (or ""), parameter rows
// (TYPES.md, "Parameter rows"), or "pickle", rows a Python binding
// pickled (TYPES.md, "Pickled rows"); the core writes them in COPY's text
// format. Malformed rows, or pickled rows holding what they may not, are
// an argument error (nothing of them sent); the server's error is a
// database one.
func CopyWriteRows(w *lakebase.CopyIn, format string, rows []byte) (err error) {
	defer classify(&err, Database)
	switch format {
	case "", "params":
		err = w.WriteRows(rows)
	case "pickle":
		err = w.WritePickledRows(rows)
	default:
		return &ArgumentError{Message: "format " + format + ": want params or pickle"}
	}
	var dbErr *lakebase.Error
	if err != nil && !errors.As(err, &dbErr) {
		return &ArgumentError{Message: err.Error(), Err: err}
	}
	return err
}

// EndCopyFrom ends the COPY: normally when abort is nil (it returns the
// rows copied), else failing it with *abort as the reason (the server's
// error, SQLSTATE 57014, is returned).
func EndCopyFrom(w *lakebase.CopyIn, abort *string) (n int64, err error) {
	defer classify(&err, Database)
	if abort != nil {
		return 0, w.Abort(*abort)
	}
	return w.End()
}

// StartCopyTo starts sql, a COPY ... TO STDOUT, on c.
func StartCopyTo(ctx context.Context, c *lakebase.Conn, sql string) (o *lakebase.CopyOut, err error) {
	defer classify(&err, Database)
	return c.StartCopyTo(ctx, sql)
}

// CopyRead returns the next chunk of whole rows, nil at the end.
func CopyRead(o *lakebase.CopyOut) (data []byte, err error) {
	defer classify(&err, Database)
	return o.Read()
}

// EndCopyTo ends the COPY (dropping what was not read) and returns the
// rows copied.
func EndCopyTo(o *lakebase.CopyOut) (n int64, err error) {
	defer classify(&err, Database)
	return o.Close()
}
