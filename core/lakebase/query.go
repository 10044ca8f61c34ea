package lakebase

import (
	"cmp"
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lakelink/lakelink/core/connstr"
)

// Conn is one Lakebase session, for statements that belong together: a
// session of its own (Open) or one taken from a Pool (Pool.Acquire). It is
// safe for concurrent use: calls are serialized, and a new statement
// first discards what is left of the previous result. Prepared statements
// are cached per session, and forgotten when the schema changes
// (stmtcache.go).
type Conn struct {
	t  *target
	mu sync.Mutex // held by every call, including while a Result reads rows
	c  *pgx.Conn  // nil once closed
	// giveBack returns the session to its pool, or ends it on the server;
	// discarding, it takes the session out of its pool (Discard closed it).
	giveBack func(discard bool)

	// Cancel must not wait for mu, which a running statement holds.
	cancelMu   sync.Mutex
	pg         *pgconn.PgConn // nil once closed
	tx         pgx.Tx
	autocommit bool
	open       *Result
	owned      bool // given back when its result is closed (Pool.Query)
	// endStream ends the COPY streaming through calls (StartCopyFrom,
	// StartCopyTo) that holds mu, if one does; nil otherwise.
	streamMu  sync.Mutex
	endStream func()
	// fed is the statement SendQuery sent, until its answer is received
	// (fed.go); guarded by streamMu, it holds mu meanwhile.
	fed *fedQuery

	// staleCache: the statement cache must be emptied before the next
	// statement; ddlInTx: the open transaction changed the schema
	// (stmtcache.go).
	staleCache bool
	ddlInTx    bool
}

// lock takes the session for a call. A COPY still streaming through a
// binding's calls is ended first (as a new statement discards the
// previous result): a COPY FROM fails, the rest of a COPY TO is dropped.
func (c *Conn) lock() {
	c.streamMu.Lock()
	end := c.endStream
	c.endStream = nil
	c.streamMu.Unlock()
	if end != nil {
		end()
	}
	c.mu.Lock()
}

// streaming records (end non-nil) or forgets the COPY that holds mu.
func (c *Conn) streaming(end func()) {
	c.streamMu.Lock()
	c.endStream = end
	c.streamMu.Unlock()
}

// newConn is a Conn of session c, in autocommit mode, which Close and
// Discard give back with giveBack.
func newConn(t *target, c *pgx.Conn, giveBack func(discard bool)) *Conn {
	return &Conn{t: t, c: c, giveBack: giveBack, pg: c.PgConn(), autocommit: true}
}

// ErrClosed is returned by a closed Conn or Result.
var ErrClosed = errors.New("lakebase: the connection is closed")

// ErrDiscarded is returned when reading a result that a later statement on
// its connection, or the connection's closing, discarded.
var ErrDiscarded = errors.New("lakebase: the result was discarded by a later statement or by closing its connection")

// Open opens one Lakebase session of its own, in autocommit mode, logging
// in as Connect's pools do: what a DB-API style connect() needs. Close
// ends the session on the server. Open uses none of the pool properties.
func (c *Config) Open(ctx context.Context, o *connstr.Options) (*Conn, error) {
	c = c.use()
	cfg, err := c.sessionConfig(o)
	if err != nil {
		return nil, err
	}
	t, err := c.newTarget(ctx, o, cfg.ConnConfig)
	if err != nil {
		return nil, err
	}
	session, err := login(ctx, t, t.connect)
	if err != nil {
		return nil, err
	}
	return newConn(t, session, func(bool) {
		// Terminate, then close the socket: at once when the server does
		// not take the message within a login's time.
		ctx, cancel := context.WithTimeout(context.Background(), t.conn.ConnectTimeout)
		defer cancel()
		session.Close(ctx)
	}), nil
}

// SetAutocommit sets whether each statement commits on its own (true, the
// default) or, as PEP 249 wants, statements open a transaction that lasts
// until Commit or Rollback. Changing it while a transaction is open is an
// error, as in psycopg: commit or roll back first.
func (c *Conn) SetAutocommit(on bool) error {
	c.lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return ErrClosed
	}
	if on != c.autocommit && c.tx != nil {
		return errors.New("lakebase: cannot change autocommit while a transaction is open: commit or roll back first")
	}
	c.autocommit = on
	return nil
}

// Execute runs a statement with PostgreSQL's $1…$n placeholders. The rows
// stream: they are read from the server as the Result is read. ctx bounds
// the whole statement, the reading of its rows included; cancelling it
// sends the server a cancel request.
//
// A statement whose prepared form a schema change made stale runs again
// when nothing is lost by that (stmtcache.go). Values of types outside the
// type table are their PostgreSQL text (textform.go).
//
// SQL of several statements separated by semicolons, without args, runs
// as psycopg runs it, through the simple query protocol in one round
// trip; the Result is the last statement's, its rows read into memory.
func (c *Conn) Execute(ctx context.Context, sql string, args ...any) (*Result, error) {
	c.lock()
	defer c.mu.Unlock()
	began := !c.autocommit && c.tx == nil
	if err := c.readyLocked(ctx); err != nil {
		return nil, err
	}
	for retried := false; ; retried = true {
		rows, primed, err := c.query(ctx, sql, args)
		if err == nil {
			return c.openResult(rows, primed, nil), nil
		}
		if retried {
			return nil, c.t.wrap(err)
		}
		if again, rerr := c.retryStale(ctx, err, began); rerr != nil {
			return nil, rerr
		} else if !again {
			return nil, c.t.wrap(err)
		}
	}
}

// openResult makes rows the session's open Result; primed: rows is at a
// row not read yet. pipeline is the pipeline of one statement that the
// rows are the answer of (SendQuery), closed after them, or nil.
func (c *Conn) openResult(rows pgx.Rows, primed bool, pipeline *pgconn.Pipeline) *Result {
	fields := rows.FieldDescriptions()
	r := &Result{conn: c, rows: rows, cols: Columns(fields, c.c.TypeMap()), raw: rawColumns(fields),
		textCols: textColumns(fields), primed: primed, pipeline: pipeline}
	c.open = r
	return r
}

// query starts sql and reads its first row (pgx has it already), if any
// (primed). A statement that fails before its first row because of what
// it is (a syntax error) or of the cache (a prepared statement the
// server refuses) is an error here; other errors are the rows'.
func (c *Conn) query(ctx context.Context, sql string, args []any) (rows pgx.Rows, primed bool, err error) {
	if len(args) == 0 && multiStatement(sql) {
		rows, err = c.simpleQuery(ctx, sql)
		return rows, false, err
	}
	rows, err = c.c.Query(ctx, sql, withTableFormats(args)...)
	if err == nil {
		err = rows.Err()
	}
	if err == nil {
		primed = rows.Next()
		if err = rows.Err(); primed || !cachedPlanChanged(err) {
			return rows, primed, nil
		}
	}
	rows.Close()
	return nil, false, err
}

// beginImplicitLocked opens the transaction a statement starts when
// autocommit is off (PEP 249) and none is open.
func (c *Conn) beginImplicitLocked(ctx context.Context) error {
	if c.autocommit || c.tx != nil {
		return nil
	}
	tx, err := c.c.Begin(ctx)
	if err != nil {
		return c.t.wrap(err)
	}
	c.tx = tx
	return nil
}

// Begin starts a transaction explicitly.
func (c *Conn) Begin(ctx context.Context) error {
	c.lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return ErrClosed
	}
	if c.tx != nil {
		return errors.New("lakebase: a transaction is already open")
	}
	c.discardOpen()
	tx, err := c.c.Begin(ctx)
	if err != nil {
		return c.t.wrap(err)
	}
	c.tx = tx
	return nil
}

// Commit commits the open transaction; without one it does nothing.
func (c *Conn) Commit(ctx context.Context) error { return c.end(ctx, pgx.Tx.Commit) }

// Rollback rolls the open transaction back; without one it does nothing.
func (c *Conn) Rollback(ctx context.Context) error { return c.end(ctx, pgx.Tx.Rollback) }

func (c *Conn) end(ctx context.Context, f func(pgx.Tx, context.Context) error) error {
	c.lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return ErrClosed
	}
	c.discardOpen()
	if c.tx == nil {
		return nil
	}
	tx := c.tx
	c.tx = nil
	err := f(tx, ctx)
	c.noteTxEnd()
	return c.t.wrap(err)
}

// Cancel asks the server to cancel the statement running on this session,
// from any goroutine. The statement then fails with SQLSTATE 57014.
func (c *Conn) Cancel(ctx context.Context) error {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.pg == nil {
		return ErrClosed
	}
	// The request is a connection of its own: bounded like a connect, so
	// that an unreachable server cannot hold the caller (a process exiting).
	ctx, cancel := context.WithTimeout(ctx, c.t.conn.ConnectTimeout)
	defer cancel()
	return c.pg.CancelRequest(ctx)
}

// Close rolls back an open transaction and gives the session back: to its
// pool (Pool.Acquire), or ends it on the server (Open). Closing twice is
// harmless.
func (c *Conn) Close() error {
	c.lock()
	defer c.mu.Unlock()
	return c.closeLocked()
}

// Idle tells whether the session could serve another holder as it is,
// as its pool would take it back to serve again: open, with no
// transaction (the library's, or one a statement began), no result open
// and no call in progress, a cancel request included (it would reach the
// next holder's statement). It does not wait: a session a call holds is
// not idle.
func (c *Conn) Idle() bool {
	if !c.mu.TryLock() {
		return false
	}
	defer c.mu.Unlock()
	if !c.cancelMu.TryLock() {
		return false
	}
	defer c.cancelMu.Unlock()
	c.streamMu.Lock()
	streaming := c.endStream != nil
	c.streamMu.Unlock()
	return c.c != nil && !streaming && c.tx == nil && c.open == nil && !c.pg.IsClosed() && !c.pg.IsBusy() &&
		c.pg.TxStatus() == 'I'
}

// Discard ends the session on the server instead of giving it back to
// its pool: for a session its holder no longer trusts (node-postgres's
// release(err)), which no later Acquire should get. An open transaction
// ends with the session (the server rolls it back) and an open result is
// discarded unread. For a session of its own (Open) it is Close.
// Discarding a closed Conn does nothing.
func (c *Conn) Discard() error {
	c.lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return nil
	}
	if r := c.open; r != nil && r.err == nil {
		r.err = ErrDiscarded // what reading it says, rather than the closed connection's error
	}
	// Terminate, then close the socket, bounded as Open's Close is.
	ctx, cancel := context.WithTimeout(context.Background(), c.t.conn.ConnectTimeout)
	defer cancel()
	c.c.Close(ctx)
	c.tx = nil // ended on the server with the session
	return c.giveBackLocked(true)
}

func (c *Conn) closeLocked() error { return c.giveBackLocked(false) }

// giveBackLocked ends c's use of its session: see giveBack.
func (c *Conn) giveBackLocked(discard bool) error {
	if c.c == nil {
		return nil
	}
	c.discardOpen()
	var err error
	if c.tx != nil {
		err = c.tx.Rollback(context.Background())
		c.tx = nil
		c.noteTxEnd()
	}
	if c.staleCache { // the pool's next user gets the session with an empty cache
		ctx, cancel := context.WithTimeout(context.Background(), c.t.conn.ConnectTimeout)
		c.refreshCacheLocked(ctx) // failing, the session is lost: its next statement tells
		cancel()
	}
	c.cancelMu.Lock()
	c.pg = nil // the session is given back: no cancelling it from here
	c.cancelMu.Unlock()
	c.giveBack(discard)
	c.c = nil
	return c.t.wrap(err)
}

// discardOpen closes the previous result, if still open.
func (c *Conn) discardOpen() {
	if r := c.open; r != nil { // open means not read to its end
		r.closeLocked()
		if r.err == nil {
			r.err = ErrDiscarded
		}
	}
}

// Result is a statement's outcome: columns, then rows read as they arrive,
// then the command tag. Read it with Next/Values, or in encoded batches
// with NextBatch; close it when done.
type Result struct {
	conn *Conn
	rows pgx.Rows
	cols []Column
	raw  bool // every column converts from its wire values (rawColumns)
	// textCols are the columns whose values are their text (textform.go).
	textCols []int
	// rawRows holds a batch's wire values while it is encoded (raw).
	rawRows rawRows
	primed  bool // rows is at a row the reader has not had yet (Execute read it)
	// pipeline is the pipeline of one statement that rows answer
	// (SendQuery), closed after them; nil for Execute's.
	pipeline *pgconn.Pipeline
	tag      pgconn.CommandTag
	done     bool
	err      error
}

// Columns describes the result's columns (none for a statement without
// rows).
func (r *Result) Columns() []Column { return r.cols }

// Next advances to the next row; false at the end or on an error (see Err).
func (r *Result) Next() bool {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.nextLocked()
}

func (r *Result) nextLocked() bool {
	if r.done {
		return false
	}
	if r.primed {
		r.primed = false
		return true
	}
	if r.rows.Next() {
		return true
	}
	r.finishLocked()
	return false
}

// Values returns the current row's values, typed as TYPES.md describes.
func (r *Result) Values() ([]any, error) {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	if r.done {
		return nil, errors.New("lakebase: no current row")
	}
	v, err := rowValues(r.rows, r.textCols, r.conn.c.TypeMap())
	return v, r.conn.t.wrap(err)
}

// RawValues returns the current row as the server sent it, nil for NULL:
// the PostgreSQL text form of each value when the statement ran with
// pgx.QueryResultFormats{pgx.TextFormatCode} as its first argument. The
// slices are valid until the next call to Next.
func (r *Result) RawValues() [][]byte {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.rows.RawValues()
}

// NextBatch encodes up to maxRows further rows in format; it returns nil
// and no error at the end. One batch crosses an export's ABI at once.
func (r *Result) NextBatch(format Format, maxRows int) ([]byte, error) {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.nextBatchLocked(format, maxRows)
}

func (r *Result) nextBatchLocked(format Format, maxRows int) ([]byte, error) {
	if maxRows <= 0 {
		maxRows = 1000
	}
	if format == FormatColumnar && r.raw {
		return r.nextRawBatchLocked(maxRows)
	}
	var rows [][]any
	for len(rows) < maxRows && r.nextLocked() {
		v, err := rowValues(r.rows, r.textCols, r.conn.c.TypeMap())
		if err != nil {
			r.err = r.conn.t.wrap(err)
			r.finishLocked()
			return nil, r.err
		}
		rows = append(rows, v)
	}
	if r.err != nil {
		return nil, r.err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return EncodeBatch(format, r.cols, rows)
}

// nextRawBatchLocked is NextBatch's columnar batch from the rows' wire
// values (rawbatch.go), for a result whose every column has a direct
// conversion.
func (r *Result) nextRawBatchLocked(maxRows int) ([]byte, error) {
	rows := &r.rawRows
	rows.reset(len(r.cols))
	for rows.len() < maxRows && r.nextLocked() {
		rows.add(r.rows.RawValues())
	}
	if r.err != nil {
		return nil, r.err
	}
	if rows.len() == 0 {
		return nil, nil
	}
	b, err := encodeRawColumnar(r.cols, rows)
	if err != nil { // a malformed value: as in NextBatch, the result ends, no rows skipped
		r.err = r.conn.t.wrap(err)
		r.finishLocked()
		return nil, r.err
	}
	return b, nil
}

// Done reports whether every row was read (or the result closed): the
// command tag is then known.
func (r *Result) Done() bool {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.done
}

// Err is the error that ended the rows, if any.
func (r *Result) Err() error {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.err
}

// CommandTag is the server's tag ("SELECT 3", "INSERT 0 1"), once the rows
// are read (or the result closed).
func (r *Result) CommandTag() string {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return r.tag.String()
}

// RowsAffected is the count in the command tag: -1 when the tag has none
// (CREATE TABLE, SET), or is not known yet (see RowCount).
func (r *Result) RowsAffected() int64 {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	return RowCount(r.tag)
}

// RowCount is the count a command tag carries ("INSERT 0 5" 5, "SELECT 3"
// 3, "UPDATE 0" 0), or -1 when it carries none ("CREATE TABLE", "SET",
// an empty tag): PEP 249's rowcount, node-postgres's rowCount (null
// there). Every binding takes it from here.
func RowCount(tag pgconn.CommandTag) int64 {
	s := tag.String()
	i := strings.LastIndexByte(s, ' ')
	if i < 0 || i == len(s)-1 {
		return -1
	}
	n, err := strconv.ParseInt(s[i+1:], 10, 64)
	if err != nil || n < 0 {
		return -1
	}
	return n
}

// Close discards the rows not read, and gives the session back when the
// result had one of its own (Pool.Query).
func (r *Result) Close() error {
	r.conn.lock()
	defer r.conn.mu.Unlock()
	r.closeLocked()
	if r.conn.owned {
		r.conn.closeLocked()
	}
	return r.err
}

func (r *Result) closeLocked() {
	if !r.done {
		r.finishLocked()
	}
}

// finishLocked ends the rows and records tag and error.
func (r *Result) finishLocked() {
	r.rows.Close()
	r.done = true
	r.tag = r.rows.CommandTag()
	r.conn.noteTag(r.tag)
	err := r.rows.Err()
	if r.pipeline != nil { // its Sync, where the statement's implicit transaction commits
		commitErr, sessionErr := readSync(r.pipeline)
		r.pipeline.Close()
		r.pipeline = nil
		err = cmp.Or(err, commitErr, sessionErr)
	}
	if err != nil && r.err == nil {
		r.err = r.conn.t.wrap(err)
	}
	if r.conn.open == r {
		r.conn.open = nil
	}
}
