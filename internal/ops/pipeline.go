package ops

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
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
		q := lakebase.Queued{SQL: string(sql)}
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
func encodePipeline(piped []lakebase.Piped) ([]byte, error) {
	var out []byte
	appendBytes := func(b []byte) {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
		out = append(out, b...)
	}
	for _, p := range piped {
		if p.Err != nil {
			failure, err := json.Marshal(Of(p.Err, Database))
			if err != nil {
				return nil, err
			}
			out = append(out, pipedFailed)
			appendBytes(failure)
			continue
		}
		colJSON, err := json.Marshal(columnsOf(p.Columns))
		if err != nil {
			return nil, err
		}
		out = append(out, pipedOK)
		appendBytes(colJSON)
		appendBytes([]byte(p.Tag.String()))
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
