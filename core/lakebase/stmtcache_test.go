package lakebase

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// This file tests stmtcache.go: prepared statements after schema changes,
// by the session itself and by another one, against the emulator's
// PostgreSQL.

func TestCachedPlansAfterSchemaChanges(t *testing.T) {
	p, a := bulkConn(t)
	ctx := context.Background()
	b, err := p.Acquire(ctx) // the other session, changing the schema under a
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	all(t, b, "DROP TABLE IF EXISTS plan_t; CREATE TABLE plan_t (v int); INSERT INTO plan_t VALUES (1)")
	const sel = "SELECT * FROM plan_t WHERE true = $1"
	check := func(what string, want string) {
		t.Helper()
		rows, _ := all(t, a, sel, true)
		if len(rows) != 1 || fmt.Sprintf("%T %v", rows[0][0], rows[0][0]) != want {
			t.Errorf("%s: %v, want %s", what, rows, want)
		}
	}
	// recreate makes the table's column another type, on session s.
	recreate := func(s *Conn, typ, value string) {
		t.Helper()
		all(t, s, fmt.Sprintf("DROP TABLE plan_t; CREATE TABLE plan_t (v %s); INSERT INTO plan_t VALUES (%s)", typ, value))
	}
	check("prepared", "int32 1")

	recreate(a, "text", "'x'") // by the session itself: its cache is emptied
	check("after its own DDL", "string x")
	all(t, a, "ALTER TABLE plan_t ALTER v TYPE bigint USING 7")
	check("after its own ALTER", "int64 7")

	recreate(b, "int", "2") // by another session, autocommit: run again
	check("after another session's DDL, autocommit", "int32 2")

	// Autocommit off: the transaction lakelink begins for the statement is
	// begun again.
	if err := a.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	recreate(b, "text", "'y'")
	check("in the transaction begun for it", "string y")
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// A transaction that ran something else fails; the next one works.
	all(t, a, "SELECT 1")
	recreate(b, "int", "3")
	_, err = a.Execute(ctx, sel, true)
	if !cachedPlanChanged(err) {
		t.Fatalf("in a transaction that ran a statement: %v, want the cached plan's error", err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr); pgErr.Routine != "RevalidateCachedQuery" { // what cachedPlanChanged knows it by in any language
		t.Errorf("the server's routine %q", pgErr.Routine)
	}
	if err := a.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	recreate(b, "text", "'z'") // another change meanwhile: the cache is emptied anyway
	check("after the failed transaction", "string z")
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	// A transaction's DDL rolled back: the statements prepared after it
	// are forgotten with it.
	all(t, a, "ALTER TABLE plan_t ALTER v TYPE int USING 4")
	check("after DDL in a transaction", "int32 4")
	if err := a.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	check("after its rollback", "string z")
	if err := a.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.SetAutocommit(true); err != nil {
		t.Fatal(err)
	}

	// ExecuteMany's statements, run again as a whole.
	const ins = "INSERT INTO plan_t (v) VALUES ($1) RETURNING *"
	if _, err := a.ExecuteMany(ctx, ins, [][]any{{"a"}}); err != nil {
		t.Fatal(err)
	}
	recreate(b, "text, w int DEFAULT 0", "'5'") // another result type
	if n, err := a.ExecuteMany(ctx, ins, [][]any{{"6"}, {"7"}}); err != nil || n != 2 {
		t.Fatalf("ExecuteMany after another session's DDL: %d, %v", n, err)
	}
	if rows, _ := all(t, a, "SELECT count(*) FROM plan_t"); fmt.Sprint(rows) != "[[3]]" {
		t.Errorf("rows after ExecuteMany: %v, want 3 (each inserted once)", rows)
	}
}

// The error is known by its routine whatever the language of the server's
// messages.
func TestCachedPlanChangedInAnyLanguage(t *testing.T) {
	for _, c := range []struct {
		err  *pgconn.PgError
		want bool
	}{
		{&pgconn.PgError{Code: "0A000", Routine: "RevalidateCachedQuery", Message: "le plan mis en cache ne doit pas modifier le type de résultat"}, true},
		{&pgconn.PgError{Code: "0A000", Message: "cached plan must not change result type"}, true},
		{&pgconn.PgError{Code: "0A000", Routine: "transformSelectStmt", Message: "another feature not supported"}, false},
		{&pgconn.PgError{Code: "42P01", Routine: "RevalidateCachedQuery"}, false},
	} {
		if got := cachedPlanChanged(fmt.Errorf("wrapped: %w", c.err)); got != c.want {
			t.Errorf("%+v: %v, want %v", c.err, got, c.want)
		}
	}
}
