package lakebase

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
)

// Statements whose answers their caller brings.
//
// A program whose statements start from an event loop (Node's) waits for
// a library thread to bring each answer: the thread waits for the server,
// then wakes the loop, two threads awake per round trip where Postgres.js
// and asyncpg need one, the loop's, asleep in epoll until the server's
// answer arrives. A fed statement lets the loop do the same: SendQuery
// sends it on the caller's thread and returns at once; the loop watches a
// duplicate of the session's socket (SessionSocket) and passes what it
// reads to FeedQuery, which decrypts it (TLS is the session's, in Go) and
// tells when the whole answer has come; then ReceiveQuery reads it from
// memory, on the caller's thread, into a Result as Execute's. No library
// thread waits for the server.
//
// Only what needs no other round trip is sent so: a statement prepared
// already (PrepareQuery, which waits for the server, prepares it once per
// session), on a session in autocommit mode outside a transaction. It is
// sent as a pipeline of one statement (pipeline.go), and prepared in the
// pipelines' statement cache.

// fedAnswerLimit bounds the bytes of an answer FeedQuery holds before it
// tells to receive it where waiting is allowed: a large result is read as
// it comes (by the Result), not held whole.
const fedAnswerLimit = 256 << 10

// fedArgsLimit bounds the bytes of a fed statement's encoded arguments:
// writing more could wait for the server to read them, on the caller's
// thread (an event loop's).
const fedArgsLimit = 64 << 10

// errAnswerIncomplete is what a session's connection reads while the
// answer is fed and the bytes fed are used up: a timeout, which the TLS
// layer and pgx's message reader take as a read to try again.
var errAnswerIncomplete error = answerIncomplete{}

type answerIncomplete struct{}

func (answerIncomplete) Error() string {
	return "lakebase: the rest of the answer has not been fed yet"
}
func (answerIncomplete) Timeout() bool   { return true }
func (answerIncomplete) Temporary() bool { return true }

// feedConn is a session's connection (under TLS, if any), whose reads take
// the bytes fed to it first, and while feeding, only those. It also holds
// the session's answer buffer (answers), which pgx's messages are read
// from.
type feedConn struct {
	net.Conn
	sys     syscall.Conn // the dialed connection, for its descriptor
	mu      sync.Mutex
	feeding bool
	reading int // reads of the socket in progress
	fed     []byte
	answers *answerBuffer
}

// feedable wraps c, a dialed connection, so that its bytes can be fed
// (on POSIX systems, with a descriptor).
func feedable(c, dialed net.Conn) net.Conn {
	sys, ok := dialed.(syscall.Conn)
	if !ok || !socketsShared {
		return c
	}
	return &feedConn{Conn: c, sys: sys}
}

func (c *feedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if len(c.fed) > 0 {
		n := copy(p, c.fed)
		c.fed = c.fed[n:]
		c.mu.Unlock()
		return n, nil
	}
	if c.feeding {
		c.mu.Unlock()
		return 0, errAnswerIncomplete
	}
	c.reading++
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.reading--
		c.mu.Unlock()
	}()
	return c.Conn.Read(p)
}

// setStreaming passes Conn.streamReads on to the connection under it.
func (c *feedConn) setStreaming(on bool) {
	if s, ok := c.Conn.(interface{ setStreaming(bool) }); ok {
		s.setStreaming(on)
	}
}

// feed adds b (copied) to the bytes to read.
func (c *feedConn) feed(b []byte) {
	c.mu.Lock()
	c.fed = append(c.fed, b...)
	c.mu.Unlock()
}

// startFeeding turns feeding on, unless a read of the socket is in
// progress (pgx's background reader, after a slow write), which would
// take what the caller must read: false then.
func (c *feedConn) startFeeding() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading > 0 {
		return false
	}
	c.feeding = true
	return true
}

// stopFeeding turns feeding off: reads go on to the socket once the bytes
// fed are read.
func (c *feedConn) stopFeeding() {
	c.mu.Lock()
	c.feeding = false
	c.mu.Unlock()
}

// buildFrontend is pgconn's BuildFrontend for sessions whose connection
// is a feedConn: their messages are read through its answer buffer.
func buildFrontend(r io.Reader, w io.Writer) *pgproto3.Frontend {
	if nc, ok := w.(net.Conn); ok {
		if fc, ok := underTLS(nc).(*feedConn); ok {
			fc.answers = &answerBuffer{r: r}
			r = fc.answers
		}
	}
	return pgproto3.NewFrontend(r, w)
}

// answerRoom is the room an answer buffer makes for what it reads, and
// keeps between answers.
const answerRoom = 32 << 10

// answerBuffer holds what a session's connection read (decrypted) ahead
// of pgx's message reader, and counts the messages it holds whole.
type answerBuffer struct {
	r    io.Reader
	buf  []byte
	off  int   // buf[off:] is not read yet
	scan int   // the start of the first message not counted
	err  error // what ended filling, other than errAnswerIncomplete
	// ready counts the ReadyForQuery messages counted since reset;
	// refused tells whether the answer must be read on a thread: an error
	// among them that may be a statement's stale prepared form's, or a
	// COPY's start.
	ready   int
	refused bool
}

func (a *answerBuffer) Read(p []byte) (int, error) {
	if a.off == len(a.buf) {
		return a.r.Read(p)
	}
	n := copy(p, a.buf[a.off:])
	a.off += n
	if a.off == len(a.buf) { // all read: start over, and let a large answer's room go
		a.off, a.scan = 0, 0
		a.buf = a.buf[:0]
		if cap(a.buf) > answerRoom {
			a.buf = nil
		}
	}
	return n, nil
}

// reset starts counting anew (a pipeline was sent).
func (a *answerBuffer) reset() {
	a.ready, a.refused, a.err = 0, false, nil
	a.scan = a.off
}

// fill reads what the connection has (the bytes fed) and counts the whole
// messages.
func (a *answerBuffer) fill() {
	for a.err == nil {
		if cap(a.buf)-len(a.buf) < answerRoom/2 {
			a.buf = slices.Grow(a.buf, answerRoom)
		}
		n, err := a.r.Read(a.buf[len(a.buf):cap(a.buf)])
		a.buf = a.buf[:len(a.buf)+n]
		if errors.Is(err, errAnswerIncomplete) {
			break
		}
		a.err = err
	}
	for a.scan+5 <= len(a.buf) {
		size := int(binary.BigEndian.Uint32(a.buf[a.scan+1:]))
		if size < 4 { // malformed: pgx reports it
			a.err = errors.New("lakebase: a malformed message from the server")
			return
		}
		if a.scan+1+size > len(a.buf) {
			return
		}
		switch a.buf[a.scan] {
		case 'Z':
			a.ready++
		case 'E':
			a.refused = a.refused || runsAgain(a.buf[a.scan+5:a.scan+1+size])
		case 'G', 'H', 'W': // a COPY: the server waits for what only a thread can give it
			a.refused = true
		}
		a.scan += 1 + size
	}
}

// held is how many bytes the buffer holds unread.
func (a *answerBuffer) held() int { return len(a.buf) - a.off }

// runsAgain tells whether body, an ErrorResponse's, refuses a statement
// for a stale prepared form (cachedPlanChanged, preparedStatementGone):
// the statement runs again, which may wait for the server.
func runsAgain(body []byte) bool {
	var e pgproto3.ErrorResponse
	if e.Decode(body) != nil {
		return false // pgx reports it when it reads the answer
	}
	err := pgconn.ErrorResponseToPgError(&e)
	return cachedPlanChanged(err) || preparedStatementGone(err)
}

// fedQuery is a statement SendQuery sent, its answer not received yet.
// mu serializes feeding it and receiving its answer; done: its answer was
// received (or dropped), and no more is fed.
type fedQuery struct {
	mu   sync.Mutex
	done bool
	fc   *feedConn
	p    *pgconn.Pipeline
	sql  string
	args []any
}

// SessionSocket returns a duplicate of the session's socket descriptor
// (close-on-exec), for its caller to watch while it feeds a statement's
// answer; the caller closes it. It fails on a session whose answers
// cannot be fed: a Config without ThreadWait, a connection without a
// descriptor, a system other than POSIX. Like Cancel, it does not wait
// for a statement sent (its caller may ask once it sent one).
func (c *Conn) SessionSocket() (int, error) {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.pg == nil {
		return -1, ErrClosed
	}
	fc, ok := rawConn(c.pg).(*feedConn)
	if !ok || fc.answers == nil {
		return -1, errors.New("lakebase: this session's answers cannot be fed: it is not the C library's")
	}
	raw, err := fc.sys.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	cerr := raw.Control(func(s uintptr) { fd, err = dupSocket(s) })
	return fd, errors.Join(cerr, err)
}

// Sending is what SendQuery did.
type Sending int

const (
	// NotSent: the statement did not go; run it with Execute.
	NotSent Sending = iota
	// PrepareFirst: the statement did not go; call PrepareQuery (which
	// waits for the server), then SendQuery again.
	PrepareFirst
	// Sent: the statement went; feed its answer (FeedQuery).
	Sent
)

// SendQuery sends sql with args as Execute runs it, without waiting for
// its answer, which its caller then feeds (FeedQuery) and receives
// (ReceiveQuery). It sends nothing when that would take another round
// trip: the statement is not prepared yet, or the statement cache must
// be emptied first (PrepareFirst); or Execute must run it (NotSent): a
// transaction open, autocommit off, a result not read to its end,
// several statements in sql, a COPY (its data goes through calls),
// arguments of more than fedArgsLimit bytes, a session whose answers
// cannot be fed or that is reading. Arguments that do not encode are its
// error. Until ReceiveQuery, the session's next call (Close included)
// first reads the answer and drops it, waiting for the server: its
// caller must have fed all it read of the answer by then, and read no
// more.
func (c *Conn) SendQuery(sql string, args []any) (Sending, error) {
	c.lock()
	if c.c == nil {
		c.mu.Unlock()
		return NotSent, ErrClosed
	}
	fc, ok := rawConn(c.pg).(*feedConn)
	if !ok || fc.answers == nil || !c.autocommit || c.tx != nil || c.open != nil ||
		c.pg.TxStatus() != 'I' || len(args) == 0 && multiStatement(sql) || firstWord(sql) == "COPY" ||
		c.pg.Frontend().ReadBufferLen() > 0 { // pgx holds part of a message: counting must start after it
		c.mu.Unlock()
		return NotSent, nil
	}
	cache := c.pipelineStatements()
	st := cache.get(sql)
	if st == nil || len(cache.evicted) > 0 || c.staleCache {
		c.mu.Unlock()
		return PrepareFirst, nil
	}
	var eqb pgx.ExtendedQueryBuilder
	if err := c.bindLocked(&eqb, st, args); err != nil {
		c.mu.Unlock()
		return NotSent, err
	}
	size := 0
	for _, v := range eqb.ParamValues {
		size += len(v)
	}
	if size > fedArgsLimit || !fc.startFeeding() {
		c.mu.Unlock()
		return NotSent, nil
	}
	fc.answers.reset()
	p := c.pg.StartPipeline(context.Background())
	p.SendQueryStatement(st.StatementDescription, eqb.ParamValues, eqb.ParamFormats, st.resultFormats)
	p.SendPipelineSync()
	if err := p.Flush(); err != nil {
		fc.stopFeeding()
		p.Close()
		c.mu.Unlock()
		return NotSent, c.t.wrap(err)
	}
	f := &fedQuery{fc: fc, p: p, sql: sql, args: args}
	c.streamMu.Lock()
	c.fed = f
	c.endStream = func() { // the answer is dropped
		if f := c.takeFed(); f != nil {
			if r, err := c.receiveLocked(context.Background(), f); err == nil {
				r.closeLocked()
			}
			c.mu.Unlock()
		}
	}
	c.streamMu.Unlock()
	return Sent, nil
}

// PrepareQuery prepares sql for SendQuery, waiting for the server; an
// error is the server's refusal of the statement (as Execute's would be).
func (c *Conn) PrepareQuery(ctx context.Context, sql string) error {
	c.lock()
	defer c.mu.Unlock()
	if err := c.readyLocked(ctx); err != nil {
		return err
	}
	answers := make([]Piped, 1)
	if _, err := c.describeLocked(ctx, []Queued{{SQL: sql}}, []int{0}, answers); err != nil {
		return err
	}
	return answers[0].Err
}

// Feeding is what FeedQuery tells of a fed statement's answer.
type Feeding int

const (
	// FeedMore: the answer has not all come; feed the next bytes.
	FeedMore Feeding = iota
	// FeedComplete: the whole answer has come; ReceiveQuery will not wait.
	FeedComplete
	// FeedWait: call ReceiveQuery where it may wait for the server: the
	// answer is large (more than fedAnswerLimit bytes came, and its Result
	// reads the rest as it comes), the statement may have to run again
	// (refused for a stale prepared form), it is a COPY, or the session
	// failed.
	FeedWait
)

// FeedQuery passes b, bytes read from the session's socket, to the
// statement SendQuery sent, and tells whether its answer has come.
// Without one sent, it tells FeedWait (ReceiveQuery then says what
// happened to it).
func (c *Conn) FeedQuery(b []byte) Feeding {
	c.streamMu.Lock()
	f := c.fed
	c.streamMu.Unlock()
	if f == nil {
		return FeedWait
	}
	if !f.mu.TryLock() { // another call is receiving it (or dropping it)
		return FeedWait
	}
	defer f.mu.Unlock()
	if f.done {
		return FeedWait
	}
	f.fc.feed(b)
	a := f.fc.answers
	a.fill()
	switch {
	case a.err != nil || a.refused || a.held() > fedAnswerLimit:
		return FeedWait
	case a.ready > 0:
		return FeedComplete
	}
	return FeedMore
}

// ReceiveQuery returns the Result of the statement SendQuery sent, as
// Execute returns it; it does not wait for the server once FeedQuery told
// FeedComplete. A statement refused for a stale prepared form runs again,
// as Execute runs it. The error is ErrDiscarded when another call on the
// session dropped the answer.
func (c *Conn) ReceiveQuery(ctx context.Context) (*Result, error) {
	f := c.takeFed()
	if f == nil {
		return nil, ErrDiscarded
	}
	defer c.mu.Unlock()
	r, err := c.receiveLocked(ctx, f)
	if err != nil {
		return nil, c.t.wrap(err)
	}
	return r, nil
}

// takeFed takes the fed statement from the session, for its caller to
// receive its answer: nil when there is none, or another call took it.
func (c *Conn) takeFed() *fedQuery {
	c.streamMu.Lock()
	defer c.streamMu.Unlock()
	f := c.fed
	c.fed, c.endStream = nil, nil
	return f
}

// receiveLocked reads f's answer into the session's open Result.
func (c *Conn) receiveLocked(ctx context.Context, f *fedQuery) (*Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.done = true
	f.fc.stopFeeding()
	res, err := f.p.GetResults()
	if rr, ok := res.(*pgconn.ResultReader); ok {
		rows := pgx.RowsFromResultReader(c.c.TypeMap(), rr)
		primed := rows.Next()
		if err = rows.Err(); primed || !cachedPlanChanged(err) && !preparedStatementGone(err) {
			return c.openResult(rows, primed, f.p), nil
		}
		rows.Close()
	}
	if closeErr := f.p.Close(); err == nil {
		err = closeErr
	}
	if !cachedPlanChanged(err) && !preparedStatementGone(err) {
		return nil, err
	}
	c.staleCache = true // as Execute runs it again
	if err := c.refreshCacheLocked(ctx); err != nil {
		return nil, err
	}
	rows, primed, err := c.query(ctx, f.sql, f.args)
	if err != nil {
		return nil, err
	}
	return c.openResult(rows, primed, nil), nil
}
