package lakebase

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/jackc/pgx/v5"
)

// This file is bulk work on a session: ExecuteMany (one statement, many
// parameter rows, pipelined as one pgx batch) and COPY, from a reader or
// to a writer (CopyFrom, CopyTo), and streamed through calls of a binding
// (StartCopyFrom, StartCopyTo).

// ExecuteMany runs sql once per row of args, all rows sent at once as one
// pipelined batch (one round trip, the statement prepared once), as
// psycopg's executemany does. The rows run in one implicit transaction
// when no transaction is open (autocommit): a failing row fails them all.
// Rows a statement returns are dropped. It returns the total of the rows
// affected, or -1 when a statement's tag carries no count.
func (c *Conn) ExecuteMany(ctx context.Context, sql string, args [][]any) (int64, error) {
	c.lock()
	defer c.mu.Unlock()
	if err := c.readyLocked(ctx); err != nil {
		return 0, err
	}
	if len(args) == 0 {
		return 0, nil
	}
	b := &pgx.Batch{}
	for _, row := range args {
		b.Queue(sql, row...)
	}
	br := c.c.SendBatch(ctx, b)
	total := int64(0)
	for range args {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, c.t.wrap(err)
		}
		if n := RowCount(tag); n < 0 || total < 0 {
			total = -1
		} else {
			total += n
		}
	}
	return total, c.t.wrap(br.Close())
}

// readyLocked readies the session for a new statement: open, the
// previous result discarded, the implicit transaction begun.
func (c *Conn) readyLocked(ctx context.Context) error {
	if c.c == nil {
		return ErrClosed
	}
	c.discardOpen()
	return c.beginImplicitLocked(ctx)
}

// CopyFrom runs sql, a COPY ... FROM STDIN, sending what r holds as its
// data (in the format sql names), and returns the rows copied. An error
// reading r aborts the COPY (the server sees CopyFail with its message).
// Like Execute it runs in the open transaction, or opens one when
// autocommit is off.
func (c *Conn) CopyFrom(ctx context.Context, sql string, r io.Reader) (int64, error) {
	c.lock()
	defer c.mu.Unlock()
	if err := c.readyLocked(ctx); err != nil {
		return 0, err
	}
	tag, err := c.pg.CopyFrom(ctx, r, sql)
	if err != nil {
		return 0, c.t.wrap(err)
	}
	return RowCount(tag), nil
}

// CopyFromRows copies rows into table's columns with pgx's CopyFrom: the
// binary COPY format, each value encoded for its column's type (learned
// from the server). It returns the rows copied.
func (c *Conn) CopyFromRows(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	c.lock()
	defer c.mu.Unlock()
	if err := c.readyLocked(ctx); err != nil {
		return 0, err
	}
	n, err := c.c.CopyFrom(ctx, table, columns, rows)
	return n, c.t.wrap(err)
}

// CopyTo runs sql, a COPY ... TO STDOUT, writing its data to w (each
// Write is one row's data, as the server sent it), and returns the rows
// copied.
func (c *Conn) CopyTo(ctx context.Context, sql string, w io.Writer) (int64, error) {
	c.lock()
	defer c.mu.Unlock()
	if err := c.readyLocked(ctx); err != nil {
		return 0, err
	}
	tag, err := c.pg.CopyTo(ctx, w, sql)
	if err != nil {
		return 0, c.t.wrap(err)
	}
	return RowCount(tag), nil
}

// ExecuteMany is Conn.ExecuteMany on a session of the pool.
func (p *Pool) ExecuteMany(ctx context.Context, sql string, args [][]any) (int64, error) {
	return onPoolSession(ctx, p, func(c *Conn) (int64, error) { return c.ExecuteMany(ctx, sql, args) })
}

// CopyFrom is Conn.CopyFrom on a session of the pool.
func (p *Pool) CopyFrom(ctx context.Context, sql string, r io.Reader) (int64, error) {
	return onPoolSession(ctx, p, func(c *Conn) (int64, error) { return c.CopyFrom(ctx, sql, r) })
}

// CopyFromRows is Conn.CopyFromRows on a session of the pool.
func (p *Pool) CopyFromRows(ctx context.Context, table pgx.Identifier, columns []string, rows pgx.CopyFromSource) (int64, error) {
	return onPoolSession(ctx, p, func(c *Conn) (int64, error) { return c.CopyFromRows(ctx, table, columns, rows) })
}

// CopyTo is Conn.CopyTo on a session of the pool.
func (p *Pool) CopyTo(ctx context.Context, sql string, w io.Writer) (int64, error) {
	return onPoolSession(ctx, p, func(c *Conn) (int64, error) { return c.CopyTo(ctx, sql, w) })
}

// onPoolSession runs f on a session acquired from p, then gives it back.
func onPoolSession(ctx context.Context, p *Pool, f func(*Conn) (int64, error)) (int64, error) {
	c, err := p.Acquire(ctx)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return f(c)
}

// copyChunk is how many bytes a streamed COPY gathers before handing them
// on: big enough that a row costs no call or message of its own.
const copyChunk = 64 << 10

// CopyIn is a COPY ... FROM STDIN that a binding feeds through calls
// (StartCopyFrom): Write data in the statement's format, or WriteRows,
// then End (or Abort). The session is the COPY's until then: another call
// on it aborts the COPY first.
type CopyIn struct {
	mu   sync.Mutex // Abort may come from another goroutine (Conn.lock)
	pw   *io.PipeWriter
	buf  []byte
	done chan struct{} // closed when the COPY has ended
	n    int64         // the rows copied, once done
	err  error         // why it failed, once done
	tmp  []byte
}

// StartCopyFrom starts sql, a COPY ... FROM STDIN, whose data the
// returned CopyIn takes. An error of the statement itself (no such
// table) comes from the next Write or End. The session stays taken until
// End or Abort.
func (c *Conn) StartCopyFrom(ctx context.Context, sql string) (*CopyIn, error) {
	c.lock()
	if err := c.readyLocked(ctx); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	pr, pw := io.Pipe()
	w := &CopyIn{pw: pw, done: make(chan struct{})}
	c.streaming(func() { w.Abort("lakebase: a later call on the connection ended the COPY before its end") })
	go func() {
		defer c.mu.Unlock()
		defer c.streaming(nil)
		tag, err := c.pg.CopyFrom(ctx, pr, sql)
		w.n, w.err = RowCount(tag), c.t.wrap(err)
		if err == nil {
			err = errors.New("lakebase: the COPY has ended")
		}
		pr.CloseWithError(err) // a Write after the end fails, never waits
		close(w.done)
	}()
	return w, nil
}

// Write sends data (in the COPY's format), gathered into chunks.
func (w *CopyIn) Write(data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, data...)
	if len(w.buf) >= copyChunk {
		return w.flush()
	}
	return nil
}

// WriteRows sends rows of parameters (DecodeParamRows's encoding), each
// an entry of the table's columns, in COPY's text format: each value as
// its PostgreSQL text input form, as statement parameters are sent, so
// that the server converts it to its column's type. The COPY must be in
// text format (the default; as with psycopg's write_row, not CSV).
func (w *CopyIn) WriteRows(data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	r := &paramReader{data: data}
	for row := 0; r.off < len(data); row++ {
		var err error
		if w.buf, w.tmp, err = appendCopyTextRow(w.buf, w.tmp, r); err != nil {
			return rowError(row, err)
		}
	}
	if len(w.buf) >= copyChunk {
		return w.flush()
	}
	return nil
}

// WritePickledRows sends rows a Python binding pickled (pickledrows.go;
// TYPES.md, "Pickled rows") as WriteRows sends parameter rows. Rows with
// anything but the plain values are ErrPickledRowsUnsupported, nothing of
// them sent.
func (w *CopyIn) WritePickledRows(data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	if w.buf, _, err = appendPickledRows(w.buf, data); err != nil {
		return err
	}
	if len(w.buf) >= copyChunk {
		return w.flush()
	}
	return nil
}

func (w *CopyIn) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.pw.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		<-w.done
		return w.err
	}
	return nil
}

// End sends what is left, ends the COPY, and returns the rows copied.
func (w *CopyIn) End() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flush(); err != nil {
		return 0, err
	}
	w.pw.Close()
	<-w.done
	return w.n, w.err
}

// Abort ends the COPY with reason as its failure (the server rolls it
// back: CopyFail) and returns the server's error.
func (w *CopyIn) Abort(reason string) error {
	w.pw.CloseWithError(errors.New(reason)) // first: a Write waiting on the pipe returns
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = w.buf[:0]
	<-w.done
	return w.err
}

// appendCopyTextRow appends one parameter list read from r as a row of
// COPY's text format: values tab-separated, NULL as \N, a newline after.
// tmp is scratch space, returned for reuse.
func appendCopyTextRow(buf, tmp []byte, r *paramReader) ([]byte, []byte, error) {
	if len(r.data)-r.off < 8 || string(r.data[r.off:r.off+4]) != paramsMagic {
		return buf, tmp, errors.New("lakebase: decoding parameters: not a parameter list (it must start with \"LLPB\")")
	}
	r.off += 4
	if v := r.u16(); v != formatVersion {
		return buf, tmp, fmt.Errorf("lakebase: decoding parameters: version %d, want %d", v, formatVersion)
	}
	n := int(r.u16())
	for i := 0; i < n; i++ {
		if i > 0 {
			buf = append(buf, '\t')
		}
		var err error
		switch tag := kind(r.u8()); tag {
		case 0:
			buf = append(buf, `\N`...)
		case kindBytes:
			buf = append(buf, `\\x`...)
			buf = hex.AppendEncode(buf, r.sized())
		case kindArray:
			tmp, err = r.array(tmp[:0], 1)
			buf = appendCopyEscaped(buf, tmp)
		default:
			tmp, err = r.scalar(tmp[:0], tag)
			buf = appendCopyEscaped(buf, tmp)
		}
		if err == nil {
			err = r.err()
		}
		if errors.Is(err, errShort) {
			return buf, tmp, fmt.Errorf("lakebase: parameter $%d: %w", i+1, err)
		}
		if err != nil {
			return buf, tmp, &DataError{SQLState: "22023", Err: fmt.Errorf("lakebase: parameter $%d: %w", i+1, err)}
		}
	}
	return append(buf, '\n'), tmp, nil
}

// appendCopyEscaped appends s escaped for COPY's text format: backslash,
// tab, newline and carriage return as backslash sequences.
func appendCopyEscaped(buf, s []byte) []byte {
	for _, b := range s {
		switch b {
		case '\\':
			buf = append(buf, '\\', '\\')
		case '\t':
			buf = append(buf, '\\', 't')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		default:
			buf = append(buf, b)
		}
	}
	return buf
}

// CopyOut is a COPY ... TO STDOUT that a binding reads through calls
// (StartCopyTo): Read until it returns nil, then Close for the rows
// copied. The session is the COPY's until its end: another call on it
// drops the rest first.
type CopyOut struct {
	mu     sync.Mutex  // Close may come from two goroutines (Conn.lock)
	chunks chan []byte // chunks of whole rows; closed at the end
	stop   chan struct{}
	done   chan struct{}
	n      int64
	err    error
}

// StartCopyTo starts sql, a COPY ... TO STDOUT, whose data the returned
// CopyOut reads.
func (c *Conn) StartCopyTo(ctx context.Context, sql string) (*CopyOut, error) {
	c.lock()
	if err := c.readyLocked(ctx); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	o := &CopyOut{chunks: make(chan []byte, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c.streaming(func() { o.Close() })
	go func() {
		defer c.mu.Unlock()
		defer c.streaming(nil)
		w := &chunkWriter{out: o}
		tag, err := c.pg.CopyTo(ctx, w, sql)
		if err == nil {
			err = w.send()
		}
		o.n, o.err = RowCount(tag), c.t.wrap(err)
		close(o.chunks)
		close(o.done)
	}()
	return o, nil
}

// chunkWriter gathers a COPY TO's rows into chunks for CopyOut.Read.
type chunkWriter struct {
	out *CopyOut
	buf []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	if len(w.buf) >= copyChunk {
		if err := w.send(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// send hands the gathered rows to the reader, waiting for it; once the
// reader has closed the CopyOut, it drops them (the rest of the data is
// read and dropped, which keeps the session usable).
func (w *chunkWriter) send() error {
	if len(w.buf) == 0 {
		return nil
	}
	select {
	case w.out.chunks <- w.buf:
		w.buf = make([]byte, 0, copyChunk+copyChunk/4)
	case <-w.out.stop:
		w.buf = w.buf[:0]
	}
	return nil
}

// Read returns the next chunk of data (whole rows, as the server sent
// them), or nil at the end (then Close tells the outcome), or the error
// that ended the COPY.
func (o *CopyOut) Read() ([]byte, error) {
	if b, ok := <-o.chunks; ok {
		return b, nil
	}
	<-o.done
	return nil, o.err
}

// Close ends the COPY — reading and dropping the rest of its data when
// called before its end — and returns the rows copied.
func (o *CopyOut) Close() (int64, error) {
	o.mu.Lock()
	select {
	case <-o.stop:
	default:
		close(o.stop)
	}
	o.mu.Unlock()
	for range o.chunks {
	}
	<-o.done
	return o.n, o.err
}
