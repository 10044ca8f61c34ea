package lakebase

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// This file keeps a session's cache of prepared statements in step with
// the schema. pgx prepares each statement once per session and reuses it;
// once a table it reads is dropped and created again, or altered, with
// other column types, PostgreSQL refuses to run the prepared statement
// ("cached plan must not change result type", SQLSTATE 0A000) and pgx
// forgets that one statement only. lakelink empties the whole cache
// instead (pgx's DeallocateAll) when the session changed the schema, and
// runs a refused statement again when nothing was lost by that:
//
//   - a statement whose command tag is a DDL one (CREATE, ALTER, DROP ...)
//     empties the cache before the session's next statement; a transaction
//     that ran one empties it again once it ends, however it ends (a
//     rollback undoes the change);
//   - a statement refused so (another session changed the schema) empties
//     it, and runs again once: in autocommit mode, or in the transaction
//     lakelink began for it (autocommit off) and that ran nothing else,
//     which is rolled back and begun again; otherwise the error is
//     returned (the transaction is failed), and the next statement
//     after it ends runs with an empty cache.
//
// The pipelines' own cache (pipeline.go) is emptied with pgx's.
//
// psycopg forgets its prepared statements after a DROP or a ROLLBACK.

// ddlTag reports whether a command tag is a DDL statement's, which may
// change the row types of prepared statements, or one that drops the
// session's prepared statements (DISCARD ALL, DEALLOCATE ALL).
func ddlTag(tag pgconn.CommandTag) bool {
	s := tag.String()
	for _, prefix := range []string{"CREATE ", "ALTER ", "DROP ", "DISCARD", "DEALLOCATE"} {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// noteTag records what a statement's command tag says of the schema.
func (c *Conn) noteTag(tag pgconn.CommandTag) {
	if !ddlTag(tag) {
		return
	}
	c.staleCache = true
	if c.pg.TxStatus() != 'I' {
		c.ddlInTx = true
	}
}

// noteTxEnd records that the session's transaction ended.
func (c *Conn) noteTxEnd() {
	if c.ddlInTx {
		c.staleCache = true
		c.ddlInTx = false
	}
}

// cachedPlanChanged reports whether err is PostgreSQL refusing a prepared
// statement whose result type a schema change altered: SQLSTATE 0A000
// (feature not supported) from the routine that revalidates cached plans,
// whatever the language of the server's messages (lc_messages); or, from
// a server that does not name its routine, with the English message.
func cachedPlanChanged(err error) bool {
	pgErr := serverError(err)
	return pgErr != nil && pgErr.Code == "0A000" &&
		(pgErr.Routine == "RevalidateCachedQuery" || pgErr.Message == "cached plan must not change result type")
}

// refreshCacheLocked empties the statement cache if the schema changed,
// when the session can run the DEALLOCATE (not in a failed transaction).
func (c *Conn) refreshCacheLocked(ctx context.Context) error {
	if !c.staleCache {
		return nil
	}
	if s := c.pg.TxStatus(); s != 'I' && s != 'T' {
		return nil
	}
	if err := c.c.DeallocateAll(ctx); err != nil {
		return c.t.wrap(err)
	}
	delete(c.pg.CustomData(), pipelineCacheKey)
	c.staleCache = false
	return nil
}

// retryStale tells whether a statement that failed with err, after
// beginning the implicit transaction itself (began) or not, runs again:
// see this file's rule. It readies the session for that run (the
// transaction begun again, the cache emptied); an error doing so is
// returned.
func (c *Conn) retryStale(ctx context.Context, err error, began bool) (bool, error) {
	if !cachedPlanChanged(err) {
		return false, nil
	}
	c.staleCache = true
	switch {
	case c.tx == nil && c.pg.TxStatus() == 'I': // autocommit, no transaction opened by SQL
	case began:
		tx := c.tx
		c.tx = nil
		if err := tx.Rollback(ctx); err != nil {
			return false, c.t.wrap(err)
		}
		if err := c.beginImplicitLocked(ctx); err != nil {
			return false, err
		}
	default:
		return false, nil
	}
	return true, c.refreshCacheLocked(ctx)
}
