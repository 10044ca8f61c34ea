package lakebase

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
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
// affected, or -1 when a statement's tag carries no count. Like Execute
// it runs again once when its prepared statement went stale.
func (c *Conn) ExecuteMany(ctx context.Context, sql string, args [][]any) (int64, error) {
	c.lock()
	defer c.mu.Unlock()
	began := !c.autocommit && c.tx == nil
	if err := c.readyLocked(ctx); err != nil {
		return 0, err
	}
	if len(args) == 0 {
		return 0, nil
	}
	c.streamReads(true) // the server answers row after row as it runs them
	defer c.streamReads(false)
	for retried := false; ; retried = true {
		total, err := c.sendBatch(ctx, sql, args)
		if err == nil || retried {
			return total, c.t.wrap(err)
		}
		if again, rerr := c.retryStale(ctx, err, began); rerr != nil {
			return 0, rerr
		} else if !again {
			return 0, c.t.wrap(err)
		}
	}
}

// sendBatch runs sql once per row of args, as one batch, returning the
// total of the rows they affected (-1 when a tag carries no count).
func (c *Conn) sendBatch(ctx context.Context, sql string, args [][]any) (int64, error) {
	b := &pgx.Batch{} // a new one each time: pgx keeps the prepared statements in it
	for _, row := range args {
		b.Queue(sql, row...)
	}
	br := c.c.SendBatch(ctx, b)
	total := int64(0)
	for range b.QueuedQueries {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return 0, err
		}
		c.noteTag(tag)
		if n := RowCount(tag); n < 0 || total < 0 {
			total = -1
		} else {
			total += n
		}
	}
	return total, br.Close()
}

// readyLocked readies the session for a new statement: open, the
// previous result discarded, the implicit transaction begun.
func (c *Conn) readyLocked(ctx context.Context) error {
	if c.c == nil {
		return ErrClosed
	}
	c.discardOpen()
	if err := c.refreshCacheLocked(ctx); err != nil {
		return err
	}
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
	tag, err := c.copyIn(ctx, sql, r)
	if err != nil {
		return 0, c.t.wrap(err)
	}
	return RowCount(tag), nil
}

// CopyDirectionError is a statement started as a COPY ... FROM STDIN
// (CopyFrom, StartCopyFrom) that is none: a COPY ... TO STDOUT (its data
// is received and dropped), or a statement that copies nothing. The
// statement has run; the session is ready for the next one. The C ABI
// reports it as LAKELINK_ERR_INVALID_ARGUMENT.
type CopyDirectionError struct {
	Got string // "a COPY ... TO STDOUT", "a statement that copies nothing"
}

func (e *CopyDirectionError) Error() string {
	return "lakebase: " + e.Got + " was started as a COPY ... FROM STDIN: start it as what it is (a COPY TO is read, not written)"
}

// copyIn runs sql, a COPY ... FROM STDIN, sending r's data (as pgconn's
// CopyFrom does, which waits forever for a COPY that goes the other way):
// the server's first answer tells the direction, the data goes from a
// goroutine while the server's answers are received, and an error reading
// r fails the COPY with its text (CopyFail).
func (c *Conn) copyIn(ctx context.Context, sql string, r io.Reader) (pgconn.CommandTag, error) {
	fe := c.pg.Frontend()
	fe.SendQuery(&pgproto3.Query{String: sql})
	if err := fe.Flush(); err != nil {
		return pgconn.CommandTag{}, err
	}
	var (
		tag     pgconn.CommandTag
		pgErr   error
		got     = "a statement that copies nothing"
		stop    chan struct{} // closed once the server is done: the sender stops
		sendErr chan error    // the sender's outcome
	)
	for {
		msg, err := c.pg.ReceiveMessage(ctx)
		if err != nil { // the session is lost
			if stop != nil {
				close(stop)
				<-sendErr
			}
			return pgconn.CommandTag{}, err
		}
		switch m := msg.(type) {
		case *pgproto3.CopyInResponse:
			stop, sendErr = make(chan struct{}), make(chan error, 1)
			go func() { sendErr <- sendCopyData(c.pg, r, stop) }()
		case *pgproto3.CopyOutResponse:
			got = "a COPY ... TO STDOUT"
		case *pgproto3.CommandComplete:
			tag = pgconn.NewCommandTag(string(m.CommandTag))
		case *pgproto3.ErrorResponse:
			if pgErr == nil {
				pgErr = pgconn.ErrorResponseToPgError(m)
			}
		case *pgproto3.ReadyForQuery:
			if stop == nil { // no COPY FROM STDIN
				if pgErr != nil {
					return pgconn.CommandTag{}, pgErr
				}
				return pgconn.CommandTag{}, &CopyDirectionError{Got: got}
			}
			close(stop)
			if err := <-sendErr; err != nil && pgErr == nil {
				return pgconn.CommandTag{}, err
			}
			if pgErr != nil {
				return pgconn.CommandTag{}, pgErr
			}
			return tag, nil
		}
	}
}

// sendCopyData sends what r holds as CopyData messages, then CopyDone at
// its end or CopyFail with the error reading it; it stops early once stop
// is closed (the server ended the COPY). An error sending closes the
// connection, which ends the receiving too.
func sendCopyData(pg *pgconn.PgConn, r io.Reader, stop <-chan struct{}) error {
	fe := pg.Frontend()
	buf := make([]byte, 5+copyChunk)
	buf[0] = 'd'
	for {
		n, err := r.Read(buf[5:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[1:5], uint32(n+4))
			if werr := fe.SendUnbufferedEncodedCopyData(buf[:n+5]); werr != nil {
				pg.Conn().Close()
				return werr
			}
		}
		if err != nil {
			if err == io.EOF {
				fe.Send(&pgproto3.CopyDone{})
			} else {
				fe.Send(&pgproto3.CopyFail{Message: err.Error()})
			}
			if werr := fe.Flush(); werr != nil {
				pg.Conn().Close()
				return werr
			}
			return nil
		}
		select {
		case <-stop:
			return nil
		default:
		}
	}
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
	c.streamReads(true)
	tag, err := c.pg.CopyTo(ctx, w, sql)
	c.streamReads(false)
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
	mu        sync.Mutex // Abort may come from another goroutine (Conn.lock)
	chunks    chan []byte
	ended     bool          // chunks is closed
	abort     chan struct{} // closed by Abort
	aborted   sync.Once
	reason    error // the abort's reason
	buf       []byte
	run       *CopyRun
	tmp       []byte    // WriteRows's scratch space
	unpickler unpickler // WritePickledRows's
}

// copyQueue is how many chunks a streamed COPY FROM may have on their way
// to the server: the caller encodes the next while they are sent.
const copyQueue = 4

// StartCopyFrom starts sql, a COPY ... FROM STDIN, whose data the
// returned CopyIn takes. An error of the statement itself (no such
// table) comes from a later Write or End. The session stays taken until
// End or Abort.
func (c *Conn) StartCopyFrom(ctx context.Context, sql string) (*CopyIn, error) {
	w := &CopyIn{chunks: make(chan []byte, copyQueue), abort: make(chan struct{}), run: newCopyRun()}
	stop := func() { w.Abort("lakebase: a later call on the connection ended the COPY before its end") }
	if err := c.startCopyIn(ctx, sql, &chunkReader{w: w}, stop, w.run); err != nil {
		return nil, err
	}
	return w, nil
}

// CopyRun is a COPY ... FROM STDIN running on a goroutine
// (StartCopyFromReader): its outcome, once done is closed.
type CopyRun struct {
	done chan struct{}
	n    int64
	err  error
}

func newCopyRun() *CopyRun { return &CopyRun{done: make(chan struct{})} }

// Wait waits for the COPY's end (the session is free then) and returns
// the rows copied.
func (r *CopyRun) Wait() (int64, error) {
	<-r.done
	return r.n, r.err
}

// StartCopyFromReader starts sql, a COPY ... FROM STDIN, whose data a
// goroutine reads from r, and returns at once: the session is the COPY's
// from then until the COPY ends. A later call on the connection ends it
// first by calling stop, which must make r's reads fail: the COPY then
// fails with that error (CopyFail: the server rolls it back). An error of
// the statement itself (no such table) is the run's.
func (c *Conn) StartCopyFromReader(ctx context.Context, sql string, r io.Reader, stop func()) (*CopyRun, error) {
	run := newCopyRun()
	if err := c.startCopyIn(ctx, sql, r, stop, run); err != nil {
		return nil, err
	}
	return run, nil
}

// startCopyIn takes the session for a COPY ... FROM STDIN reading r, and
// runs it on a goroutine as run (see StartCopyFromReader).
func (c *Conn) startCopyIn(ctx context.Context, sql string, r io.Reader, stop func(), run *CopyRun) error {
	c.lock()
	if err := c.readyLocked(ctx); err != nil {
		c.mu.Unlock()
		return err
	}
	c.streaming(stop)
	go func() {
		defer close(run.done) // last: the session is free when a waiter wakes
		defer c.mu.Unlock()
		defer c.streaming(nil)
		tag, err := c.copyIn(ctx, sql, r)
		run.n, run.err = RowCount(tag), c.t.wrap(err)
	}()
	return nil
}

// chunkReader reads a CopyIn's chunks for pgconn's CopyFrom: EOF once
// End closed them, the reason once Abort was called.
type chunkReader struct {
	w   *CopyIn
	cur []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		select {
		case b, ok := <-r.w.chunks:
			if !ok {
				return 0, io.EOF
			}
			r.cur = b
		case <-r.w.abort:
			return 0, r.w.reason
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
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
	if w.buf, _, err = w.unpickler.appendRows(w.buf, data); err != nil {
		return err
	}
	if len(w.buf) >= copyChunk {
		return w.flush()
	}
	return nil
}

// flush hands the gathered data on, waiting only while copyQueue chunks
// are on their way already; once the COPY has ended (an error of the
// server, an abort) it returns why.
func (w *CopyIn) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	if w.ended {
		<-w.run.done
		return w.endedErr()
	}
	select {
	case w.chunks <- w.buf:
		w.buf = make([]byte, 0, cap(w.buf))
		return nil
	case <-w.run.done:
		w.buf = w.buf[:0]
		return w.endedErr()
	}
}

// endedErr is the error of a COPY that ended before its End.
func (w *CopyIn) endedErr() error {
	if w.run.err != nil {
		return w.run.err
	}
	return errors.New("lakebase: the COPY has ended")
}

// End sends what is left, ends the COPY, and returns the rows copied.
func (w *CopyIn) End() (int64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.flush(); err != nil {
		return 0, err
	}
	if !w.ended {
		w.ended = true
		close(w.chunks)
	}
	return w.run.Wait()
}

// Abort ends the COPY with reason as its failure (the server rolls it
// back: CopyFail) and returns the server's error.
func (w *CopyIn) Abort(reason string) error {
	w.aborted.Do(func() { // first, without mu: a flush waiting for the queue returns
		w.reason = errors.New(reason)
		close(w.abort)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = w.buf[:0]
	_, err := w.run.Wait()
	return err
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
// tab, newline and carriage return as backslash sequences (runs without
// them copied whole).
func appendCopyEscaped(buf, s []byte) []byte {
	last := 0
	for i, b := range s {
		var esc byte
		switch b {
		case '\\':
			esc = '\\'
		case '\t':
			esc = 't'
		case '\n':
			esc = 'n'
		case '\r':
			esc = 'r'
		default:
			continue
		}
		buf = append(buf, s[last:i]...)
		buf = append(buf, '\\', esc)
		last = i + 1
	}
	return append(buf, s[last:]...)
}

// CopyOut is a COPY ... TO STDOUT that a binding reads through calls
// (StartCopyTo): Read until it returns nil, then Close for the rows
// copied. Each Read receives the server's messages on the calling thread
// (no goroutine hands the data over). The session is the COPY's until its
// end: another call on it drops the rest first.
type CopyOut struct {
	mu    sync.Mutex // Close may come from another goroutine (Conn.lock) while a Read runs
	c     *Conn
	ctx   context.Context
	buf   []byte
	pgErr error // the server's error, reported at the end
	done  bool  // the server is ready for the next statement: c.mu released
	n     int64
	err   error
}

// StartCopyTo starts sql, a COPY ... TO STDOUT, whose data the returned
// CopyOut reads. The session stays taken until the data's end or Close.
func (c *Conn) StartCopyTo(ctx context.Context, sql string) (*CopyOut, error) {
	c.lock()
	if err := c.readyLocked(ctx); err != nil {
		c.mu.Unlock()
		return nil, err
	}
	fe := c.pg.Frontend()
	fe.SendQuery(&pgproto3.Query{String: sql})
	if err := fe.Flush(); err != nil {
		c.mu.Unlock()
		return nil, c.t.wrap(err)
	}
	o := &CopyOut{c: c, ctx: ctx}
	c.streamReads(true)
	c.streaming(func() { o.Close() })
	return o, nil
}

// streamReads tells the session's connection, when it waits for the server
// on the calling thread (Config.ThreadWait), whether it carries a stream
// the server produces (COPY TO, ExecuteMany's answers): measured, spinning
// for its data took the CPU the server needed (COPY TO a tenth slower than
// psycopg on two cores, 0.72 of its time without the spin).
func (c *Conn) streamReads(on bool) {
	if s, ok := rawConn(c.pg).(interface{ setStreaming(bool) }); ok {
		s.setStreaming(on)
	}
}

// rawConn is the connection under pg's TLS, if any.
func rawConn(pg *pgconn.PgConn) net.Conn { return underTLS(pg.Conn()) }

// underTLS is the connection under nc's TLS, or nc without TLS.
func underTLS(nc net.Conn) net.Conn {
	if t, ok := nc.(interface{ NetConn() net.Conn }); ok {
		return t.NetConn()
	}
	return nc
}

// Read returns the next chunk of data (whole rows, as the server sent
// them, about copyChunk bytes), or nil at the end (then Close tells the
// outcome), or the error that ended the COPY.
func (o *CopyOut) Read() ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.next(true)
}

// Close ends the COPY — receiving and dropping the rest of its data when
// called before its end, which keeps the session usable — and returns the
// rows copied.
func (o *CopyOut) Close() (int64, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf = nil
	for !o.done {
		o.next(false)
	}
	return o.n, o.err
}

// next receives messages until a chunk is gathered (kept, or dropped) or
// the COPY ends; at the end it releases the session.
func (o *CopyOut) next(keep bool) ([]byte, error) {
	for !o.done {
		msg, err := o.c.pg.ReceiveMessage(o.ctx)
		if err != nil { // the session is lost
			o.end(err)
			break
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if !keep {
				continue
			}
			o.buf = append(o.buf, m.Data...) // m.Data is the connection's buffer: copied
			if len(o.buf) >= copyChunk {
				b := o.buf
				o.buf = make([]byte, 0, copyChunk+copyChunk/4)
				return b, nil
			}
		case *pgproto3.CommandComplete:
			o.n = RowCount(pgconn.NewCommandTag(string(m.CommandTag)))
		case *pgproto3.ErrorResponse:
			if o.pgErr == nil {
				o.pgErr = pgconn.ErrorResponseToPgError(m)
			}
		case *pgproto3.CopyInResponse: // a COPY FROM STDIN: refused, rather than waiting for data forever
			o.c.pg.Frontend().Send(&pgproto3.CopyFail{Message: "lakebase: a COPY FROM STDIN was started as a COPY TO STDOUT"})
			if err := o.c.pg.Frontend().Flush(); err != nil {
				o.end(err)
			}
		case *pgproto3.ReadyForQuery:
			o.end(o.pgErr)
		}
	}
	if b := o.buf; len(b) > 0 { // the rows before the end (or an error) first
		o.buf = nil
		return b, nil
	}
	return nil, o.err
}

// end records the COPY's outcome and gives the session back to its Conn.
func (o *CopyOut) end(err error) {
	o.c.streamReads(false)
	o.done = true
	o.err = o.c.t.wrap(err)
	o.c.streaming(nil)
	o.c.mu.Unlock()
}
