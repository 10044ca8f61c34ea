package ops

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/lakelink/lakelink/core/lakebase"
)

// Pipeliner runs pipelines: a session (lakebase.Conn.Pipeline), or a
// pool's sessions of one identity, on a session lent for each
// (lakebase.Pool.Pipeline, lakebase.UserPool.Pipeline).
type Pipeliner interface {
	Pipeline(ctx context.Context, stmts []lakebase.Queued, format lakebase.Format, maxRows int) ([]lakebase.Piped, error)
}

// QueryPipeline runs the statements that statements holds (TYPES.md,
// "Pipelines") on c in one round trip (see Pipeliner) and
// returns their answers, encoded as TYPES.md says: each one's columns,
// command tag, rows affected and rows in batches as b asks, or its error.
// A malformed buffer runs nothing (an ArgumentError naming the statement).
func QueryPipeline(ctx context.Context, c Pipeliner, statements []byte, b Batch) (answers []byte, err error) {
	defer classify(&err, Database)
	f, err := batchFormat(b.Format)
	if err != nil {
		return nil, err
	}
	stmts, argErrs, err := decodePipeline(statements)
	if err != nil {
		return nil, err
	}
	var run []lakebase.Queued // those whose parameters decoded
	for i, q := range stmts {
		if argErrs[i] == nil {
			run = append(run, q)
		}
	}
	ran, err := c.Pipeline(ctx, run, f, b.MaxRows)
	if errors.Is(err, lakebase.ErrPipelineInTransaction) {
		return nil, &ArgumentError{Message: err.Error(), Err: err}
	}
	if err != nil {
		return nil, err
	}
	piped := make([]lakebase.Piped, len(stmts))
	for i := range piped {
		if argErrs[i] != nil {
			piped[i].Err = argErrs[i]
		} else {
			piped[i], ran = ran[0], ran[1:]
		}
	}
	return encodePipeline(piped)
}

// decodePipeline reads the statements of a pipeline. A statement whose
// parameters do not decode has its error in argErrs (its answer: it is
// not sent); a buffer that does not frame is an error.
func decodePipeline(buf []byte) (stmts []lakebase.Queued, argErrs []error, err error) {
	next := func(what string) ([]byte, error) {
		if len(buf) < 4 {
			return nil, &ArgumentError{Message: fmt.Sprintf("pipeline statement %d: the buffer ends inside the length of its %s", len(stmts), what)}
		}
		n := binary.LittleEndian.Uint32(buf)
		if uint64(len(buf)-4) < uint64(n) {
			return nil, &ArgumentError{Message: fmt.Sprintf("pipeline statement %d: the length of its %s, %d, runs past the buffer's end", len(stmts), what, n)}
		}
		b := buf[4 : 4+n]
		buf = buf[4+n:]
		return b, nil
	}
	for len(buf) > 0 {
		sql, err := next("SQL")
		if err != nil {
			return nil, nil, err
		}
		if !utf8.Valid(sql) || bytes.IndexByte(sql, 0) >= 0 {
			return nil, nil, &ArgumentError{Message: fmt.Sprintf("pipeline statement %d: its SQL is not valid UTF-8 without NUL", len(stmts))}
		}
		params, err := next("parameters")
		if err != nil {
			return nil, nil, err
		}
		var q lakebase.Queued
		if n := len(stmts); n > 0 && stmts[n-1].SQL == string(sql) { // the same statement again: its string once
			q.SQL = stmts[n-1].SQL
		} else {
			q.SQL = string(sql)
		}
		var argErr error
		if len(params) > 0 {
			if q.Args, err = lakebase.DecodeParams(lakebase.DefaultFormat, params); err != nil {
				argErr = &ArgumentError{Message: err.Error(), Err: err}
			}
		}
		stmts = append(stmts, q)
		argErrs = append(argErrs, argErr)
	}
	return stmts, argErrs, nil
}

// Answer tags in a pipeline's answers.
const (
	pipedOK     = 0
	pipedFailed = 1
)

// encodePipeline writes the answers of a pipeline (TYPES.md, "Pipelines").
// A statement with the columns of the one before it (the same statement
// again, as pools pipeline them) reuses that one's columns JSON.
func encodePipeline(piped []lakebase.Piped) ([]byte, error) {
	size := 0 // about the answers' size: heads and batches (a long columns JSON grows it)
	for _, p := range piped {
		size += 64
		for _, b := range p.Batches {
			size += 4 + 7 + len(b)
		}
	}
	out := make([]byte, 0, size)
	var lastCols []lakebase.Column
	var lastJSON []byte
	for _, p := range piped {
		if p.Err != nil {
			failure, err := json.Marshal(Of(p.Err, Database))
			if err != nil {
				return nil, err
			}
			out = append(out, pipedFailed)
			out = appendSized(out, failure)
			continue
		}
		if lastJSON == nil || !slices.Equal(p.Columns, lastCols) {
			colJSON, err := json.Marshal(columnsOf(p.Columns))
			if err != nil {
				return nil, err
			}
			lastCols, lastJSON = p.Columns, colJSON
		}
		out = append(out, pipedOK)
		out = appendSized(out, lastJSON)
		out = appendSized(out, p.Tag.String())
		out = binary.LittleEndian.AppendUint64(out, uint64(lakebase.RowCount(p.Tag)))
		out = binary.LittleEndian.AppendUint32(out, uint32(len(p.Batches)))
		for _, b := range p.Batches { // each at a multiple of 8 bytes, for the binding's typed arrays over it
			out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
			for len(out)%8 != 0 {
				out = append(out, 0)
			}
			out = append(out, b...)
		}
	}
	return out, nil
}

// appendSized appends b to out after its length (a u32).
func appendSized[B []byte | string](out []byte, b B) []byte {
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}
