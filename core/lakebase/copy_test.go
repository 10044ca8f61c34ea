package lakebase

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// This file tests copy.go (ExecuteMany, COPY) and multi.go (several
// statements in one Execute), against the emulator's PostgreSQL.

func TestMultiStatement(t *testing.T) {
	for sql, want := range map[string]bool{
		"SELECT 1":                          false,
		"SELECT 1;":                         false,
		"SELECT 1; ":                        false,
		"SELECT 1;;  -- done\n /* and */ ;": false,
		"drop table if exists t; create table t (a int)": true,
		"SELECT ';' ":                       false,
		"SELECT 'it''s; fine'":              false,
		"SELECT 'a'; SELECT 2":              true,
		`SELECT "a;b" FROM t`:               false,
		`SELECT "a""; b"`:                   false,
		"SELECT 1 -- ; SELECT 2":            false,
		"SELECT 1 -- x\n; SELECT 2":         true,
		"SELECT /* ; /* nested ; */ ; */ 1": false,
		"SELECT /* */ 1; /* */ SELECT 2":    true,
		"SELECT $$ ; $$":                    false,
		"SELECT $tag$ ; $$ ; $tag$":         false,
		"SELECT $tag$ ; $tag$; SELECT 2":    true,
		"CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; SELECT 2 $$ LANGUAGE sql": false,
		"SELECT $1; SELECT 2":            true,
		"SELECT a$b; SELECT 2":           true,
		"SELECT a$b$ ; $b$":              true, // a$b$ is an identifier: no quote starts there
		`SELECT E'\'; SELECT 2'`:         false,
		`SELECT E'\\'; SELECT 2`:         true,
		`SELECT e'\''`:                   false,
		`SELECT 'x\'; SELECT 2`:          true, // standard strings: the backslash is a character
		"SELECT 'unterminated; SELECT 2": false,
		"":                               false,
		";":                              false,
	} {
		if got := multiStatement(sql); got != want {
			t.Errorf("multiStatement(%q) = %v, want %v", sql, got, want)
		}
	}
}

func TestFirstWord(t *testing.T) {
	for sql, want := range map[string]string{
		"copy t FROM STDIN": "COPY",
		"  -- a comment\n /* and /* one */ */ Copy t TO STDOUT": "COPY",
		"SELECT 1":        "SELECT",
		"(SELECT 1)":      "",
		"":                "",
		"/* unterminated": "",
	} {
		if got := firstWord(sql); got != want {
			t.Errorf("firstWord(%q) = %q, want %q", sql, got, want)
		}
	}
}

func TestRowCount(t *testing.T) {
	for tag, want := range map[string]int64{
		"INSERT 0 5": 5, "SELECT 3": 3, "UPDATE 0": 0, "DELETE 12": 12, "COPY 7": 7, "MERGE 2": 2, "MOVE 1": 1,
		"CREATE TABLE": -1, "SET": -1, "": -1, "BEGIN": -1, "DROP TABLE": -1,
	} {
		if got := RowCount(pgconn.NewCommandTag(tag)); got != want {
			t.Errorf("RowCount(%q) = %d, want %d", tag, got, want)
		}
	}
}

// bulkConn is a session of a new pool on the emulator, closed with the test.
func bulkConn(t *testing.T) (*Pool, *Conn) {
	t.Helper()
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	c, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, c
}

// all runs sql on c and returns its rows' values, and its rows affected.
func all(t *testing.T, c *Conn, sql string, args ...any) ([][]any, int64) {
	t.Helper()
	r, err := c.Execute(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	var rows [][]any
	for r.Next() {
		v, err := r.Values()
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, v)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows, r.RowsAffected()
}

func TestSeveralStatements(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	if _, n := all(t, c, "DROP TABLE IF EXISTS multi_t; CREATE TABLE multi_t (id int, s text)"); n != -1 {
		t.Errorf("CREATE TABLE: rows affected %d, want -1", n)
	}
	t.Cleanup(func() { all(t, c, "DROP TABLE multi_t") })
	if _, n := all(t, c, "INSERT INTO multi_t VALUES (1, 'a;b'); INSERT INTO multi_t VALUES (2, $$;$$), (3, NULL)"); n != 2 {
		t.Errorf("the last INSERT: rows affected %d, want 2", n)
	}
	rows, n := all(t, c, "SET search_path = public; SELECT id, s, now() > '2000-01-01'::timestamptz FROM multi_t ORDER BY id")
	if got := fmt.Sprint(rows); got != "[[1 a;b true] [2 ; true] [3 <nil> true]]" || n != 3 {
		t.Errorf("the last SELECT: %s, %d rows", got, n)
	}
	// Its columns are typed as a prepared statement's.
	r, err := c.Execute(ctx, "SELECT 1; SELECT 2::int8 AS n, 'x'::text AS s")
	if err != nil {
		t.Fatal(err)
	}
	if cols := r.Columns(); len(cols) != 2 || cols[0].TypeName != "int8" || cols[1].Name != "s" {
		t.Errorf("columns %+v", cols)
	}
	b, err := r.NextBatch(FormatColumnar, 10)
	if err != nil || len(b) == 0 {
		t.Fatalf("batch of a simple-protocol result: %v", err)
	}
	r.Close()
	// An error stops the statements; the session is usable after it.
	_, err = c.Execute(ctx, "SELECT 1; SELECT * FROM no_such_table; SELECT 3")
	var lbErr *Error
	if !errors.As(err, &lbErr) || lbErr.SQLState != "42P01" {
		t.Fatalf("failing statement: %v, want 42P01", err)
	}
	// In a transaction (autocommit off) the statements join it.
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	all(t, c, "INSERT INTO multi_t VALUES (10); INSERT INTO multi_t VALUES (11)")
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(true); err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM multi_t"); fmt.Sprint(rows) != "[[3]]" {
		t.Errorf("after rollback: %v rows, want 3", rows)
	}
}

func TestExecuteMany(t *testing.T) {
	p, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TEMP TABLE many_t (id int PRIMARY KEY, s text, d date)")
	args := make([][]any, 1000)
	for i := range args {
		args[i] = []any{fmt.Sprint(i), fmt.Sprint("s", i), "2024-05-01"}
	}
	n, err := c.ExecuteMany(ctx, "INSERT INTO many_t VALUES ($1, $2, $3)", args)
	if err != nil || n != 1000 {
		t.Fatalf("ExecuteMany: %d, %v", n, err)
	}
	if rows, _ := all(t, c, "SELECT count(*), sum(id) FROM many_t"); fmt.Sprint(rows) != "[[1000 499500]]" {
		t.Errorf("got %v", rows)
	}
	// A failing row fails them all (one implicit transaction), and names the server's error.
	_, err = c.ExecuteMany(ctx, "INSERT INTO many_t VALUES ($1, $2, $3)", [][]any{{"5000", "x", nil}, {"1", "dup", nil}})
	var lbErr *Error
	if !errors.As(err, &lbErr) || lbErr.SQLState != "23505" {
		t.Fatalf("duplicate key: %v", err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM many_t"); fmt.Sprint(rows) != "[[1000]]" {
		t.Errorf("after the failed batch: %v", rows)
	}
	// Decoded parameter rows, as the C ABI passes them.
	rows, err := DecodeParamRows(FormatColumnar, append(encodeParams(pInt(7000), pText("a")), encodeParams(pInt(7001), pNull)...))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.ExecuteMany(ctx, "UPDATE many_t SET s = $2 WHERE id = $1 - 7000", rows); n != 2 || err != nil {
		t.Errorf("UPDATE rows: %d, %v", n, err)
	}
	if n, _ := c.ExecuteMany(ctx, "SET application_name = 'x'", [][]any{{}}); n != -1 {
		t.Errorf("a statement without a count: %d, want -1", n)
	}
	// On a pool.
	all(t, c, "CREATE TABLE many_pool (id int)")
	defer all(t, c, "DROP TABLE many_pool")
	if n, err := p.ExecuteMany(ctx, "INSERT INTO many_pool VALUES ($1)", [][]any{{"1"}, {"2"}}); n != 2 || err != nil {
		t.Errorf("Pool.ExecuteMany: %d, %v", n, err)
	}
}

func TestDecodeParamRowsErrors(t *testing.T) {
	good := encodeParams(pInt(1))
	for name, data := range map[string][]byte{
		"trailing":  append(append([]byte{}, good...), 'x'),
		"truncated": good[:len(good)-1],
		"bad value": append(append([]byte{}, good...), encodeParams(pNum("1.2.3"))...),
	} {
		if _, err := DecodeParamRows(FormatColumnar, data); err == nil || !strings.Contains(err.Error(), "row ") {
			t.Errorf("%s: %v, want an error naming the row", name, err)
		}
	}
	if rows, err := DecodeParamRows(FormatColumnar, nil); err != nil || len(rows) != 0 {
		t.Errorf("no rows: %v, %v", rows, err)
	}
}

func TestCopy(t *testing.T) {
	p, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TABLE copy_t (id int, s text, b bytea, a int[], ts timestamptz)")
	t.Cleanup(func() { all(t, c, "DROP TABLE copy_t") })

	// Bytes in the statement's format, from a reader.
	n, err := c.CopyFrom(ctx, "COPY copy_t (id, s) FROM STDIN", strings.NewReader("1\tone\n2\t\\N\n"))
	if err != nil || n != 2 {
		t.Fatalf("CopyFrom: %d, %v", n, err)
	}
	n, err = c.CopyFrom(ctx, "COPY copy_t (id, s) FROM STDIN (FORMAT csv)", strings.NewReader("3,\"th,ree\"\n"))
	if err != nil || n != 1 {
		t.Fatalf("CopyFrom csv: %d, %v", n, err)
	}
	// Rows of parameters, streamed, with values that need escaping.
	w, err := c.StartCopyFrom(ctx, "COPY copy_t FROM STDIN")
	if err != nil {
		t.Fatal(err)
	}
	rows := append(encodeParams(pInt(4), pText("tab\there\nnewline \\ back"), pBytes(0, '\\', 255), pArr(pInt(1), pNull), pTSTZ(0)),
		encodeParams(pInt(5), pNull, pNull, pNull, pNull)...)
	if err := w.WriteRows(rows); err != nil {
		t.Fatal(err)
	}
	if n, err := w.End(); err != nil || n != 2 {
		t.Fatalf("rows COPY: %d, %v", n, err)
	}
	got, _ := all(t, c, "SELECT s, b, a, ts = '2000-01-01Z' FROM copy_t WHERE id = 4")
	if fmt.Sprintf("%q", got) != `[["tab\there\nnewline \\ back" "\x00\\\xff" ['\x01' %!q(<nil>)] %!q(bool=true)]]` &&
		fmt.Sprint(got) != "[[tab\there\nnewline \\ back [0 92 255] [1 <nil>] true]]" {
		t.Errorf("row 4 read back: %q", got)
	}
	// COPY TO STDOUT, to a writer and streamed.
	var out bytes.Buffer
	n, err = c.CopyTo(ctx, "COPY (SELECT id, s FROM copy_t ORDER BY id) TO STDOUT", &out)
	if err != nil || n != 5 || !strings.HasPrefix(out.String(), "1\tone\n2\t\\N\n3\tth,ree\n4\ttab\\there") {
		t.Fatalf("CopyTo: %d, %v, %q", n, err, out.String())
	}
	all(t, c, "INSERT INTO copy_t (id) SELECT generate_series(100, 20099)")
	o, err := c.StartCopyTo(ctx, "COPY (SELECT id FROM copy_t WHERE id >= 100) TO STDOUT")
	if err != nil {
		t.Fatal(err)
	}
	var lines, chunks int
	for {
		b, err := o.Read()
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		if b[len(b)-1] != '\n' {
			t.Fatal("a chunk ends in the middle of a row")
		}
		chunks++
		lines += bytes.Count(b, []byte("\n"))
	}
	if n, err := o.Close(); n != 20000 || lines != 20000 || err != nil || chunks > 20 {
		t.Errorf("streamed COPY TO: %d rows, %d lines in %d chunks, %v", n, lines, chunks, err)
	}
	// Closed before its end: the rest is dropped and the session stays usable.
	o, _ = c.StartCopyTo(ctx, "COPY (SELECT generate_series(1, 100000)) TO STDOUT")
	if b, err := o.Read(); len(b) == 0 || err != nil {
		t.Fatalf("first chunk: %d bytes, %v", len(b), err)
	}
	if n, err := o.Close(); n != 100000 || err != nil {
		t.Errorf("closed early: %d, %v", n, err)
	}
	if rows, _ := all(t, c, "SELECT 1"); fmt.Sprint(rows) != "[[1]]" {
		t.Errorf("after an early close: %v", rows)
	}

	// A COPY FROM STDIN started as a COPY TO is refused, not waited on.
	o, _ = c.StartCopyTo(ctx, "COPY copy_t FROM STDIN")
	if b, err := o.Read(); b != nil || err == nil || !strings.Contains(err.Error(), "started as a COPY TO") {
		t.Errorf("COPY FROM read as a COPY TO: %q, %v", b, err)
	}
	o.Close()

	// Errors: no such table (from the Write or End), a bad row, an abort.
	w, err = c.StartCopyFrom(ctx, "COPY no_such_table FROM STDIN")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("1\n"))
	_, err = w.End()
	var lbErr *Error
	if !errors.As(err, &lbErr) || lbErr.SQLState != "42P01" {
		t.Fatalf("COPY into no table: %v", err)
	}
	w, _ = c.StartCopyFrom(ctx, "COPY copy_t (id) FROM STDIN")
	w.Write([]byte("x\n"))
	if _, err = w.End(); !errors.As(err, &lbErr) || lbErr.SQLState != "22P02" {
		t.Fatalf("a bad value: %v", err)
	}
	w, _ = c.StartCopyFrom(ctx, "COPY copy_t (id) FROM STDIN")
	w.Write([]byte("51000\n"))
	if err := w.Abort("changed my mind"); !errors.As(err, &lbErr) || lbErr.SQLState != "57014" || !strings.Contains(err.Error(), "changed my mind") {
		t.Fatalf("abort: %v", err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM copy_t WHERE id = 51000"); fmt.Sprint(rows) != "[[0]]" {
		t.Errorf("aborted rows: %v", rows)
	}

	// Inside a transaction: rolled back with it.
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CopyFrom(ctx, "COPY copy_t (id) FROM STDIN", strings.NewReader("52000\n")); err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM copy_t WHERE id = 52000"); fmt.Sprint(rows) != "[[1]]" {
		t.Errorf("in the transaction: %v", rows)
	}
	c.Rollback(ctx)
	c.SetAutocommit(true)
	if rows, _ := all(t, c, "SELECT count(*) FROM copy_t WHERE id = 52000"); fmt.Sprint(rows) != "[[0]]" {
		t.Errorf("after rollback: %v", rows)
	}

	// On the pool, and pgx's binary CopyFrom.
	if n, err := p.CopyFrom(ctx, "COPY copy_t (id) FROM STDIN", strings.NewReader("3000\n3001\n")); n != 2 || err != nil {
		t.Errorf("Pool.CopyFrom: %d, %v", n, err)
	}
	if n, err := p.CopyTo(ctx, "COPY (SELECT 1) TO STDOUT", io.Discard); n != 1 || err != nil {
		t.Errorf("Pool.CopyTo: %d, %v", n, err)
	}
	n, err = p.CopyFromRows(ctx, pgx.Identifier{"copy_t"}, []string{"id", "s"}, pgx.CopyFromRows([][]any{{int32(4000), "x"}, {int32(4001), nil}}))
	if n != 2 || err != nil {
		t.Errorf("Pool.CopyFromRows: %d, %v", n, err)
	}
}

// TestCopyEndedByLaterCall: a call on the session while a streamed COPY is
// open ends it (the COPY FROM fails, the COPY TO's rest is dropped), as a
// new statement discards an open result, rather than waiting for it.
func TestCopyEndedByLaterCall(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TEMP TABLE copy_later (id int)")
	w, err := c.StartCopyFrom(ctx, "COPY copy_later FROM STDIN")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write([]byte("1\n")); err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM copy_later"); fmt.Sprint(rows) != "[[0]]" {
		t.Errorf("after the aborted COPY: %v", rows)
	}
	if _, err := w.End(); err == nil || !strings.Contains(err.Error(), "later call") {
		t.Errorf("End of the ended COPY: %v", err)
	}
	o, err := c.StartCopyTo(ctx, "COPY (SELECT generate_series(1, 200000)) TO STDOUT")
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT 2"); fmt.Sprint(rows) != "[[2]]" {
		t.Errorf("after the ended COPY TO: %v", rows)
	}
	if n, err := o.Close(); n != 200000 || err != nil {
		t.Errorf("Close of the ended COPY TO: %d, %v", n, err)
	}
}

// TestStartCopyFromReader: a COPY reading a reader on its own goroutine
// copies what the reader holds; a later call on the session calls stop,
// whose failing reader fails the COPY (the server rolls it back), and the
// session serves on.
func TestStartCopyFromReader(t *testing.T) {
	_, c := bulkConn(t)
	ctx := context.Background()
	all(t, c, "CREATE TEMP TABLE copy_reader (id int)")
	run, err := c.StartCopyFromReader(ctx, "COPY copy_reader FROM STDIN", strings.NewReader("1\n2\n3\n"), func() {})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := run.Wait(); n != 3 || err != nil {
		t.Fatalf("Wait: %d, %v", n, err)
	}

	r, w := io.Pipe()
	run, err = c.StartCopyFromReader(ctx, "COPY copy_reader FROM STDIN", r, func() { w.CloseWithError(errors.New("stopped")) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("4\n")); err != nil {
		t.Fatal(err)
	}
	if rows, _ := all(t, c, "SELECT count(*) FROM copy_reader"); fmt.Sprint(rows) != "[[3]]" {
		t.Errorf("after the stopped COPY: %v", rows)
	}
	if _, err := run.Wait(); err == nil || !strings.Contains(err.Error(), "stopped") { // done: the later call had the session
		t.Errorf("the stopped COPY: %v", err)
	}
}

// TestCopyFromWrongDirection: a COPY TO STDOUT, or no COPY at all, started
// as a COPY FROM STDIN is an error, not a wait for ever.
func TestCopyFromWrongDirection(t *testing.T) {
	_, c := bulkConn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for sql, got := range map[string]string{
		"COPY (SELECT generate_series(1, 100000)) TO STDOUT": "a COPY ... TO STDOUT",
		"SELECT 1": "a statement that copies nothing",
	} {
		var dirErr *CopyDirectionError
		if _, err := c.CopyFrom(ctx, sql, strings.NewReader("1\n")); !errors.As(err, &dirErr) || dirErr.Got != got {
			t.Errorf("CopyFrom(%q): %v, want a CopyDirectionError (%s)", sql, err, got)
		}
		w, err := c.StartCopyFrom(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("1\n"))
		if _, err := w.End(); !errors.As(err, &dirErr) || dirErr.Got != got {
			t.Errorf("StartCopyFrom(%q): %v, want a CopyDirectionError (%s)", sql, err, got)
		}
		if rows, _ := all(t, c, "SELECT 2"); fmt.Sprint(rows) != "[[2]]" {
			t.Errorf("after %q: %v", sql, rows)
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the COPYs waited")
	}
}
