package lakebase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file tests pipeline.go against the emulator's PostgreSQL.

// batchesOf runs one statement the ordinary way (Execute, NextBatch) and
// returns its batches and tag: what its pipelined answer must hold.
func batchesOf(t *testing.T, c *Conn, q Queued, maxRows int) ([][]byte, string) {
	t.Helper()
	r, err := c.Execute(context.Background(), q.SQL, q.Args...)
	if err != nil {
		t.Fatalf("%s: %v", q.SQL, err)
	}
	defer r.Close()
	var batches [][]byte
	for {
		b, err := r.NextBatch(FormatColumnar, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			return batches, r.CommandTag()
		}
		batches = append(batches, b)
	}
}

func TestPipeline(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TABLE pipe_t (id int PRIMARY KEY)")
	t.Cleanup(func() { all(t, c, "DROP TABLE pipe_t") })
	stmts := []Queued{
		{"SELECT $1::int8 AS n, $2::text AS s, $3::numeric(6,2) AS x", []any{int64(7), "seven", "7.50"}},
		{"INSERT INTO pipe_t VALUES ($1)", []any{int64(1)}},
		{"INSERT INTO pipe_t VALUES ($1)", []any{int64(1)}}, // a duplicate: fails alone
		{"INSERT INTO pipe_t VALUES ($1)", []any{int64(2)}},
		{"SELECT * FROM no_such_table WHERE $1::int = 1", []any{int64(1)}}, // does not parse
		{"SELECT $1::int8 AS n, $2::text AS s, $3::numeric(6,2) AS x", []any{int64(8), nil, "-1"}},
		{"SELECT g, md5(g::text) FROM generate_series(1, $1::int) g", []any{int64(2500)}},  // three batches
		{"SELECT $1::int", []any{int64(1), int64(2)}},                                      // too many arguments
		{"SELECT $1::int", []any{"not a number"}},                                          // refused by the server
		{"SELECT inet '10.0.0.1' = $1::inet AS same, $1::inet AS addr", []any{"10.0.0.1"}}, // a type outside the table: its text
	}
	answers, err := c.Pipeline(ctx, stmts, FormatColumnar, 1000)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[int]string{2: "23505", 4: "42P01", 7: "", 8: "22P02"}
	for i, a := range answers {
		if code, ok := failed[i]; ok {
			var lbErr *Error
			if a.Err == nil || (code != "" && (!errors.As(a.Err, &lbErr) || lbErr.SQLState != code)) {
				t.Errorf("statement %d: error %v, want SQLSTATE %q", i, a.Err, code)
			}
			continue
		}
		if a.Err != nil {
			t.Errorf("statement %d: %v", i, a.Err)
			continue
		}
		if i == 1 || i == 3 {
			if a.Tag.String() != "INSERT 0 1" || len(a.Batches) != 0 {
				t.Errorf("statement %d: tag %q, %d batches", i, a.Tag, len(a.Batches))
			}
			continue
		}
		want, tag := batchesOf(t, c, stmts[i], 1000)
		if a.Tag.String() != tag || len(a.Batches) != len(want) {
			t.Fatalf("statement %d: tag %q and %d batches, want %q and %d", i, a.Tag, len(a.Batches), tag, len(want))
		}
		for k := range want {
			if !bytes.Equal(a.Batches[k], want[k]) {
				t.Errorf("statement %d, batch %d: not the bytes Execute's NextBatch gives", i, k)
			}
		}
	}
	if len(answers[6].Batches) != 3 || len(answers[0].Columns) != 3 || answers[0].Columns[2].TypeName != "numeric" {
		t.Errorf("batches %d, columns %+v", len(answers[6].Batches), answers[0].Columns)
	}
	// Each ran in its own transaction: the duplicate undid nothing else.
	if rows, _ := all(t, c, "SELECT array_agg(id ORDER BY id)::text FROM pipe_t"); fmt.Sprint(rows) != "[[{1,2}]]" {
		t.Errorf("pipe_t holds %v, want 1 and 2", rows)
	}

	// Not in a transaction.
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Pipeline(ctx, stmts[:1], FormatColumnar, 0); !errors.Is(err, ErrPipelineInTransaction) {
		t.Errorf("autocommit off: %v", err)
	}
	if err := c.SetAutocommit(true); err != nil {
		t.Fatal(err)
	}
	all(t, c, "BEGIN")
	if _, err := c.Pipeline(ctx, stmts[:1], FormatColumnar, 0); !errors.Is(err, ErrPipelineInTransaction) {
		t.Errorf("after BEGIN: %v", err)
	}
	all(t, c, "ROLLBACK")
}

// TestPoolPipeline: a pool runs a pipeline on a session it lends and takes
// back; pipelines at once run on sessions of their own; Close cancels a
// pipeline's statement running, and a closed pool runs none.
func TestPoolPipeline(t *testing.T) {
	p, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TABLE pool_pipe (pid int)")
	t.Cleanup(func() { all(t, c, "DROP TABLE pool_pipe") })
	insert := Queued{"INSERT INTO pool_pipe SELECT pg_backend_pid() FROM pg_sleep($1::float8)", []any{0.2}}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			answers, err := p.Pipeline(ctx, []Queued{insert, {"SELECT $1::int", []any{int64(i)}}}, FormatColumnar, 0)
			if err == nil {
				err = errors.Join(answers[0].Err, answers[1].Err)
			}
			errs[i] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT count(DISTINCT pid)::int, count(*)::int FROM pool_pipe"); fmt.Sprint(rows) != "[[4 4]]" {
		t.Errorf("the pipelines ran on (sessions, times) %v, want 4 and 4", rows)
	}
	if s := p.Stats(); s.Acquired != 1 || s.Waiting != 0 {
		t.Errorf("Stats %+v: the pipelines' sessions are not back", s)
	}

	// Close cancels a pipeline's statement running.
	done := make(chan []Piped)
	go func() {
		answers, err := p.Pipeline(ctx, []Queued{{"SELECT pg_sleep($1::float8)", []any{30.0}}}, FormatColumnar, 0)
		if err != nil {
			t.Error(err)
		}
		done <- answers
	}()
	for { // until the server runs it
		rows, _ := all(t, c, "SELECT count(*)::int FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep($1::float8)'")
		if fmt.Sprint(rows) == "[[1]]" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Close()
	var lbErr *Error
	if answers := <-done; len(answers) != 1 || !errors.As(answers[0].Err, &lbErr) || lbErr.SQLState != "57014" {
		t.Errorf("the running pipeline after Close: %+v, want its statement cancelled (57014)", answers)
	}
	if _, err := p.Pipeline(ctx, []Queued{insert}, FormatColumnar, 0); !errors.Is(err, ErrPoolClosed) {
		t.Errorf("a closed pool's pipeline: %v", err)
	}
}

// TestAsUserPipeline: an App user's pipeline runs on the user's sessions,
// as the user; a refused token runs nothing, and its error does not show it.
func TestAsUserPipeline(t *testing.T) {
	e := userEmulator(t, 0)
	ctx := context.Background()
	token := forwardedToken(t, e, "pipe@example.com")
	p := appPool(t, nil, e, "")
	who := Queued{"SELECT current_user::text, $1::int", []any{int64(1)}}
	answers, err := p.AsUser(token).Pipeline(ctx, []Queued{who}, FormatColumnar, 0)
	if err != nil || answers[0].Err != nil {
		t.Fatal(err, answers)
	}
	c, err := p.AsUser(token).Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := batchesOf(t, c, who, 1000)
	c.Close()
	if len(answers[0].Batches) != 1 || !bytes.Equal(answers[0].Batches[0], want[0]) {
		t.Error("the user's pipeline did not answer as a statement on the user's session does")
	}
	if s := p.Stats(); s.Users != 1 || s.UserSessions != 1 {
		t.Errorf("Stats: %d users, %d user sessions; want 1 of each (the pipeline's session, given back, served the Acquire)", s.Users, s.UserSessions)
	}
	bad := token + "x"
	if _, err := p.AsUser(bad).Pipeline(ctx, []Queued{who}, FormatColumnar, 0); err == nil || strings.Contains(err.Error(), bad) {
		t.Errorf("a refused token's pipeline: %v", err)
	}
}

// A table changed by another session: the prepared statement is refused
// (0A000), and runs again prepared anew.
func TestPipelineStaleStatement(t *testing.T) {
	p, c := bulkConn(t)
	ctx := context.Background()
	other, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all(t, other, "CREATE TABLE pipe_s (a int)")
	t.Cleanup(func() {
		all(t, other, "DROP TABLE pipe_s")
		other.Close()
	})
	all(t, other, "INSERT INTO pipe_s VALUES (1)")
	q := []Queued{{"SELECT * FROM pipe_s WHERE $1::int > 0", []any{int64(1)}}}
	if a, err := c.Pipeline(ctx, q, FormatColumnar, 0); err != nil || a[0].Err != nil || a[0].Columns[0].TypeName != "int4" {
		t.Fatalf("first: %v %+v", err, a)
	}
	all(t, other, "ALTER TABLE pipe_s ALTER COLUMN a TYPE text")
	a, err := c.Pipeline(ctx, q, FormatColumnar, 0)
	if err != nil || a[0].Err != nil || a[0].Columns[0].TypeName != "text" || a[0].Tag.String() != "SELECT 1" {
		t.Fatalf("after the ALTER: %v %+v", err, a)
	}
}

// TestPipelineRowsKnownOnlyWhenRun: a statement whose rows the server
// cannot describe when it is prepared (a FETCH from a cursor the same
// pipeline declares) answers with its rows' columns, each time.
func TestPipelineRowsKnownOnlyWhenRun(t *testing.T) {
	_, c := bulkConn(t)
	stmts := []Queued{
		{"DECLARE pipe_c CURSOR WITH HOLD FOR SELECT 'x'::text AS s, 7::int8 AS n", nil},
		{"FETCH ALL FROM pipe_c", nil},
		{"CLOSE pipe_c", nil},
	}
	for run := range 2 {
		a, err := c.Pipeline(context.Background(), stmts, FormatColumnar, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := errors.Join(a[0].Err, a[1].Err, a[2].Err); err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if got := fmt.Sprint(a[1].Columns); got != "[{s 25 text} {n 20 int8}]" || len(a[1].Batches) != 1 || a[1].Tag.String() != "FETCH 1" {
			t.Errorf("run %d: the FETCH answered columns %s, %d batches, %q", run, got, len(a[1].Batches), a[1].Tag)
		}
	}
}

// A session keeps at most pipelineCacheSize prepared statements of pipelines.
func TestPipelineCacheBound(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	for round := 0; round < 2; round++ {
		var stmts []Queued
		for i := 0; i < pipelineCacheSize/2+20; i++ {
			stmts = append(stmts, Queued{fmt.Sprintf("SELECT $1::int + %d", round*1000+i), []any{int64(i)}})
		}
		answers, err := c.Pipeline(ctx, stmts, FormatColumnar, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, a := range answers {
			if a.Err != nil {
				t.Fatalf("round %d, statement %d: %v", round, i, a.Err)
			}
		}
	}
	// The next pipeline deallocates what the second put out.
	if _, err := c.Pipeline(ctx, []Queued{{"SELECT $1::int + 1000", []any{int64(1)}}}, FormatColumnar, 0); err != nil {
		t.Fatal(err)
	}
	rows, _ := all(t, c, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'lakelink_pipeline_%'")
	if n := rows[0][0].(int64); n != pipelineCacheSize {
		t.Errorf("%d statements prepared, want %d", n, pipelineCacheSize)
	}
}

// A pooled session keeps its pipeline statements for the next Conn that
// takes it (they stay prepared on the server).
func TestPipelineStatementsOutliveTheConn(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "MaxConnections=1;Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	q := []Queued{{"SELECT $1::int, pg_backend_pid()", []any{int64(1)}}}
	var pids []any
	for i := 0; i < 2; i++ {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a, err := c.Pipeline(ctx, q, FormatColumnar, 0)
		if err != nil || a[0].Err != nil {
			t.Fatalf("acquire %d: %v %v", i, err, a)
		}
		rows, _ := all(t, c, "SELECT pg_backend_pid()")
		pids = append(pids, rows[0][0])
		c.Close()
	}
	if pids[0] != pids[1] {
		t.Fatalf("two sessions (%v): the test needs one", pids)
	}
}

// An error at a statement's commit (its Sync) is that statement's: the
// statements after it run and commit.
func TestPipelineCommitError(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TABLE pipe_d (id int UNIQUE DEFERRABLE INITIALLY DEFERRED)")
	t.Cleanup(func() { all(t, c, "DROP TABLE pipe_d") })
	all(t, c, "INSERT INTO pipe_d VALUES (1)")
	insert := "INSERT INTO pipe_d VALUES ($1)"
	answers, err := c.Pipeline(ctx, []Queued{{insert, []any{int64(1)}}, {insert, []any{int64(2)}}, {insert, []any{int64(3)}}},
		FormatColumnar, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lbErr *Error
	if !errors.As(answers[0].Err, &lbErr) || lbErr.SQLState != "23505" {
		t.Errorf("the duplicate, found at commit: %v", answers[0].Err)
	}
	if answers[1].Err != nil || answers[2].Err != nil || answers[2].Tag.String() != "INSERT 0 1" {
		t.Errorf("the statements after it: %+v", answers[1:])
	}
	if rows, _ := all(t, c, "SELECT array_agg(id ORDER BY id)::text FROM pipe_d"); fmt.Sprint(rows) != "[[{1,2,3}]]" {
		t.Errorf("pipe_d holds %v", rows)
	}
}

// Statements the server dropped behind the cache's back (DEALLOCATE ALL in
// a DO block, whose tag says nothing of it) are prepared again.
func TestPipelineAfterDeallocateAll(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "MaxConnections=1;Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	q := []Queued{{"SELECT $1::int + 1", []any{int64(1)}}}
	for _, step := range []string{"pipeline", "DO $$BEGIN EXECUTE 'DEALLOCATE ALL'; END$$", "pipeline"} {
		c, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if step == "pipeline" {
			a, err := c.Pipeline(ctx, q, FormatColumnar, 0)
			if err != nil || a[0].Err != nil {
				t.Fatalf("%v %v", err, a[0].Err)
			}
		} else {
			all(t, c, step)
		}
		c.Close()
	}
}

// TestPipelineValuesOfTheirText: a pipelined statement whose columns are
// not all read from their wire values (a "char", arrays, an inet) answers
// as Execute does (its rows have no pgx.Conn to ask for the type map).
func TestPipelineValuesOfTheirText(t *testing.T) {
	_, c := bulkConn(t)
	q := Queued{`SELECT 'a'::"char", '{{1,2},{3,4}}'::int[], ARRAY[NULL]::text[], '10.0.0.1'::inet, 1::oid`, nil}
	want, wantTag := batchesOf(t, c, q, 1000)
	a, err := c.Pipeline(context.Background(), []Queued{q}, FormatColumnar, 1000)
	if err != nil || a[0].Err != nil || a[0].Tag.String() != wantTag || len(a[0].Batches) != len(want) ||
		!bytes.Equal(a[0].Batches[0], want[0]) {
		t.Fatalf("%v %+v", err, a)
	}
}
