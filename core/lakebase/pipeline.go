package lakebase

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Pipelines: several independent statements sent at once.
//
// A pool of a few sessions serving many concurrent queries (node-postgres'
// pool.query, 100 at a time on 10 sessions) spends most of its time on
// round trips and calls, one of each per query. Postgres.js instead writes
// the queries waiting for a session into it one after another without
// waiting for answers (pipelining). Conn.Pipeline does the same in one
// call: every statement is bound and executed, each followed by its own
// Sync, so each runs in its own implicit transaction, as if sent alone: one
// that fails leaves the others' effects (one refused for a stale prepared
// form runs again after the others). Their prepared statements are
// kept per session in a cache of their own (pipelineCacheSize, least
// recently used first out), emptied with pgx's when the schema changes
// (stmtcache.go).

// pipelineCacheSize bounds a session's prepared statements for pipelines.
const pipelineCacheSize = 256

// pipelineCacheKey is where a session keeps its pipeline statements, in
// pgconn's CustomData: with the session, which a pool's next Conn reuses.
const pipelineCacheKey = "lakelink.pipelineStatements"

// pipelineStatement is a statement prepared for pipelines on a session,
// with what each of its runs needs worked out once: the formats its
// results are asked in (pgx's pipeline keeps them until the answer comes;
// they never change) and its rows' columns. Both are nil for a statement
// whose rows are known only when it runs (a FETCH from a cursor, an
// EXECUTE): the server describes them with the rows.
type pipelineStatement struct {
	*pgconn.StatementDescription
	resultFormats []int16
	columns       []Column
}

// pipelineStatements is the session's cache of pipeline statements, made
// on its first pipeline.
func (c *Conn) pipelineStatements() *statementLRU {
	data := c.pg.CustomData()
	l, ok := data[pipelineCacheKey].(*statementLRU)
	if !ok {
		l = newStatementLRU(pipelineCacheSize)
		data[pipelineCacheKey] = l
	}
	return l
}

// Queued is one statement of a Pipeline: SQL with $1…$n placeholders
// (one statement) and its arguments.
type Queued struct {
	SQL  string
	Args []any
}

// Piped is a pipelined statement's answer: its columns, its rows encoded
// in batches of format, and its command tag; or the error that failed it.
// Columns is the prepared statement's, shared by every answer of it: read
// it, do not change it.
type Piped struct {
	Columns []Column
	Batches [][]byte
	Tag     pgconn.CommandTag
	Err     error
}

// ErrPipelineInTransaction is returned by Pipeline when the session is not
// in autocommit mode, or is in a transaction.
var ErrPipelineInTransaction = errors.New("lakebase: a pipeline runs only in autocommit mode, outside a transaction")

// Pipeline runs stmts on the session in one round trip, each in its own
// implicit transaction, and returns their answers in order, every row of
// each read and encoded in batches of up to maxRows rows of format. An
// error of one statement (its arguments, the server's) is its answer's
// Err; so is a failure of the session, for each statement it left
// unanswered (one in flight may or may not have taken effect). A
// statement refused for a stale prepared form runs again once
// (stmtcache.go). The error returned is one that let none run: the
// session closed, or ErrPipelineInTransaction.
func (c *Conn) Pipeline(ctx context.Context, stmts []Queued, format Format, maxRows int) ([]Piped, error) {
	c.lock()
	defer c.mu.Unlock()
	if c.c == nil {
		return nil, ErrClosed
	}
	if !c.autocommit || c.tx != nil {
		return nil, ErrPipelineInTransaction
	}
	if err := c.readyLocked(ctx); err != nil {
		return nil, err
	}
	if c.pg.TxStatus() != 'I' { // a BEGIN run as a statement
		return nil, ErrPipelineInTransaction
	}
	if maxRows <= 0 {
		maxRows = 1000
	}
	c.streamReads(true) // the server answers statement after statement as it runs them
	defer c.streamReads(false)
	answers := make([]Piped, len(stmts))
	all := make([]int, len(stmts))
	for i := range all {
		all[i] = i
	}
	stale := c.pipelineLocked(ctx, stmts, all, answers, format, maxRows)
	if len(stale) > 0 {
		if err := c.refreshCacheLocked(ctx); err != nil {
			failEach(answers, stale, err)
		} else {
			for _, i := range stale {
				answers[i] = Piped{}
			}
			c.pipelineLocked(ctx, stmts, stale, answers, format, maxRows) // refused again: that error is the answer
		}
	}
	return answers, nil
}

// Pipeline runs stmts in one round trip on a session the pool lends for
// it, each in its own implicit transaction, and returns their answers as
// Conn.Pipeline does; the session goes back to the pool after. It waits at
// most PoolTimeout for a session. Close cancels the statements of a
// Pipeline running (57014, each the answer of its own). The error returned
// is one that let none run: no session, a refused login, the pool closed.
func (p *Pool) Pipeline(ctx context.Context, stmts []Queued, format Format, maxRows int) ([]Piped, error) {
	return p.lend(ctx, p.Acquire, stmts, format, maxRows)
}

// Pipeline runs stmts as Pool.Pipeline does, on a session of the user's.
func (u *UserPool) Pipeline(ctx context.Context, stmts []Queued, format Format, maxRows int) ([]Piped, error) {
	return u.owner.lend(ctx, u.Acquire, stmts, format, maxRows)
}

// lend runs stmts on a session that acquire takes, given back after; the
// session is p's to cancel meanwhile (cancelLent).
func (p *Pool) lend(ctx context.Context, acquire func(context.Context) (*Conn, error), stmts []Queued, format Format,
	maxRows int) ([]Piped, error) {
	c, err := acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	p.lentMu.Lock()
	p.lent[c] = struct{}{}
	p.lentMu.Unlock()
	defer func() {
		p.lentMu.Lock()
		delete(p.lent, c)
		p.lentMu.Unlock()
	}()
	if p.isClosed() { // Close may have cancelled the others before c was lent
		return nil, ErrPoolClosed
	}
	return c.Pipeline(ctx, stmts, format, maxRows)
}

// cancelLent asks the server to cancel the statements running on the
// sessions lent for pipelines, and waits for its answers (each bounded as
// Conn.Cancel is).
func (p *Pool) cancelLent() {
	p.lentMu.Lock()
	lent := make([]*Conn, 0, len(p.lent))
	for c := range p.lent {
		lent = append(lent, c)
	}
	p.lentMu.Unlock()
	var wg sync.WaitGroup
	for _, c := range lent {
		wg.Go(func() { c.Cancel(context.Background()) })
	}
	wg.Wait()
}

// pipelineLocked runs the statements of stmts that which lists, writing
// their answers; it returns those refused because their prepared form is
// stale or gone (their answers that error).
func (c *Conn) pipelineLocked(ctx context.Context, stmts []Queued, which []int, answers []Piped, format Format,
	maxRows int) (stale []int) {
	prepared, err := c.describeLocked(ctx, stmts, which, answers)
	if err != nil {
		failEach(answers, which, err)
		return nil
	}
	p := c.pg.StartPipeline(ctx)
	defer p.Close()
	var eqb pgx.ExtendedQueryBuilder
	var sent []int
	for _, i := range which {
		if answers[i].Err != nil {
			continue
		}
		st := prepared[i]
		if err := c.bindLocked(&eqb, st, stmts[i].Args); err != nil {
			answers[i].Err = err
			continue
		}
		p.SendQueryStatement(st.StatementDescription, eqb.ParamValues, eqb.ParamFormats, st.resultFormats)
		p.SendPipelineSync()
		sent = append(sent, i)
	}
	if err := p.Flush(); err != nil {
		failEach(answers, sent, c.t.wrap(err))
		return nil
	}
	for k, i := range sent {
		res, err := p.GetResults()
		if rr, ok := res.(*pgconn.ResultReader); ok {
			answers[i], err = c.readPipedLocked(rr, prepared[i].columns, format, maxRows)
		} else {
			err = c.t.wrap(err)
		}
		commitErr, sessionErr := readSync(p)
		if err == nil {
			err = c.t.wrap(commitErr)
		}
		if err != nil {
			answers[i] = Piped{Err: err}
		}
		if cachedPlanChanged(err) || preparedStatementGone(err) {
			c.staleCache = true
			stale = append(stale, i)
		}
		if sessionErr != nil { // this statement's outcome is not known either, unless it failed
			failEach(answers, sent[k:], c.t.wrap(sessionErr))
			return stale
		}
	}
	return stale
}

// bindLocked encodes args for statement st in eqb; its error is wrapped.
func (c *Conn) bindLocked(eqb *pgx.ExtendedQueryBuilder, st *pipelineStatement, args []any) error {
	if len(st.ParamOIDs) != len(args) { // pgx's error for it
		return c.t.wrap(fmt.Errorf("expected %d arguments, got %d", len(st.ParamOIDs), len(args)))
	}
	return c.t.wrap(eqb.Build(c.c.TypeMap(), st.StatementDescription, args))
}

// readSync reads a pipelined statement's Sync, where its implicit
// transaction commits: commitErr is the server's error there (a deferred
// constraint, a serialization failure), the statement's; sessionErr one
// that ended the session.
func readSync(p *pgconn.Pipeline) (commitErr, sessionErr error) {
	_, err := p.GetResults()
	pgErr := serverError(err)
	if pgErr == nil {
		return nil, err
	}
	_, err = p.GetResults() // the ReadyForQuery after the error
	return pgErr, err
}

// preparedStatementGone reports whether err is the server not knowing a
// prepared statement (SQLSTATE 26000): the session's statements were
// dropped behind the cache's back (DISCARD ALL, DEALLOCATE ALL in a
// function).
func preparedStatementGone(err error) bool {
	pgErr := serverError(err)
	return pgErr != nil && pgErr.Code == "26000"
}

// failEach sets err as the answer of each statement which lists that has
// no error yet.
func failEach(answers []Piped, which []int, err error) {
	for _, i := range which {
		if answers[i].Err == nil {
			answers[i] = Piped{Err: err}
		}
	}
}

// describeLocked returns the prepared statement of each statement which
// lists (by its index in stmts), preparing in one round trip those not in
// the session's pipeline cache, each with its own Sync, so that one that
// does not parse fails only its statements (their answers get the error).
// The error returned is the session's.
func (c *Conn) describeLocked(ctx context.Context, stmts []Queued, which []int,
	answers []Piped) ([]*pipelineStatement, error) {
	cache := c.pipelineStatements()
	prepared := make([]*pipelineStatement, len(stmts))
	var fresh []*pipelineStatement
	var freshBySQL map[string]*pipelineStatement
	for _, i := range which {
		sql := stmts[i].SQL
		if prepared[i] = cache.get(sql); prepared[i] != nil {
			continue
		}
		if prepared[i] = freshBySQL[sql]; prepared[i] != nil {
			continue
		}
		digest := sha256.Sum256([]byte(sql))
		prepared[i] = &pipelineStatement{StatementDescription: &pgconn.StatementDescription{
			Name: "lakelink_pipeline_" + hex.EncodeToString(digest[:12]), SQL: sql}}
		fresh = append(fresh, prepared[i])
		if freshBySQL == nil {
			freshBySQL = make(map[string]*pipelineStatement)
		}
		freshBySQL[sql] = prepared[i]
	}
	cache.makeRoom(len(fresh)) // in this round trip, not the next pipeline's
	gone := cache.evicted      // deallocated first
	if len(fresh) == 0 && len(gone) == 0 {
		return prepared, nil
	}
	p := c.pg.StartPipeline(ctx)
	defer p.Close()
	for _, st := range gone {
		p.SendDeallocate(st.Name)
	}
	if len(gone) > 0 {
		p.SendPipelineSync()
	}
	for _, st := range fresh {
		p.SendPrepare(st.Name, st.SQL, nil)
		p.SendPipelineSync()
	}
	if err := p.Flush(); err != nil {
		return nil, c.t.wrap(err)
	}
	for range gone {
		if _, err := p.GetResults(); err != nil {
			return nil, c.t.wrap(err)
		}
	}
	if len(gone) > 0 {
		if _, err := p.GetResults(); err != nil {
			return nil, c.t.wrap(err)
		}
		cache.evicted = nil
	}
	formats := tableFormats()
	for _, st := range fresh {
		res, err := p.GetResults()
		if got, ok := res.(*pgconn.StatementDescription); ok {
			st.ParamOIDs, st.Fields = got.ParamOIDs, got.Fields
			if len(st.Fields) > 0 {
				st.resultFormats = make([]int16, len(st.Fields))
				for k, f := range st.Fields {
					st.resultFormats[k] = formats[f.DataTypeOID]
				}
				st.columns = Columns(st.Fields, c.c.TypeMap())
			}
			cache.put(st)
		} else {
			for _, i := range which {
				if stmts[i].SQL == st.SQL {
					answers[i].Err = c.t.wrap(err)
				}
			}
		}
		if _, err := p.GetResults(); err != nil { // the Sync
			return nil, c.t.wrap(err)
		}
	}
	return prepared, nil
}

// readPipedLocked reads a pipelined statement's rows, of columns cols
// (nil: those the rows come with), to their end, as a Result reads them,
// in batches. Its error is wrapped.
func (c *Conn) readPipedLocked(rr *pgconn.ResultReader, cols []Column, format Format, maxRows int) (Piped, error) {
	rows := pgx.RowsFromResultReader(c.c.TypeMap(), rr)
	fields := rows.FieldDescriptions()
	if cols == nil {
		cols = Columns(fields, c.c.TypeMap())
	}
	r := &Result{conn: c, rows: rows, cols: cols, raw: rawColumns(fields), textCols: textColumns(fields)}
	answer := Piped{Columns: r.cols}
	for {
		b, err := r.nextBatchLocked(format, maxRows)
		if err != nil {
			r.closeLocked()
			return Piped{}, err
		}
		if b == nil {
			break
		}
		answer.Batches = append(answer.Batches, b)
	}
	r.closeLocked()
	answer.Tag = r.tag
	return answer, r.err
}

// statementLRU is a session's pipeline statements, the least recently used
// put out first when there are more than size.
type statementLRU struct {
	size    int
	order   *list.List // of *pipelineStatement, the most recently used first
	bySQL   map[string]*list.Element
	evicted []*pipelineStatement // put out, still prepared on the server
}

func newStatementLRU(size int) *statementLRU {
	return &statementLRU{size: size, order: list.New(), bySQL: make(map[string]*list.Element)}
}

// get is the statement prepared for sql, or nil.
func (l *statementLRU) get(sql string) *pipelineStatement {
	e, ok := l.bySQL[sql]
	if !ok {
		return nil
	}
	l.order.MoveToFront(e)
	return e.Value.(*pipelineStatement)
}

// put adds st, putting out the least recently used beyond size.
func (l *statementLRU) put(st *pipelineStatement) {
	l.bySQL[st.SQL] = l.order.PushFront(st)
	l.makeRoom(0)
}

// makeRoom puts out the least recently used statements until n more fit.
func (l *statementLRU) makeRoom(n int) {
	for l.order.Len() > 0 && l.order.Len()+n > l.size {
		old := l.order.Remove(l.order.Back()).(*pipelineStatement)
		delete(l.bySQL, old.SQL)
		l.evicted = append(l.evicted, old)
	}
}
