package lakebase

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// This file tests sessions and results (query.go): transactions,
// cancellation, streaming and autocommit; pool_test.go tests Open's
// sessions and pools.

func TestTransactionsAndCancel(t *testing.T) { bothWaits(t, testTransactionsAndCancel) }

func testTransactionsAndCancel(t *testing.T, cfg *Config) {
	p := connectWith(t, cfg, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	exec := func(sql string, args ...any) *Result {
		t.Helper()
		r, err := c.Execute(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		for r.Next() {
		}
		r.Close()
		return r
	}
	exec("CREATE TEMP TABLE tx_test (n int)")
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	exec("INSERT INTO tx_test VALUES ($1), ($2)", 1, 2)
	if err := c.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	r := exec("INSERT INTO tx_test VALUES ($1)", 3)
	if r.CommandTag() != "INSERT 0 1" || r.RowsAffected() != 1 {
		t.Errorf("command tag %q, rows affected %d", r.CommandTag(), r.RowsAffected())
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(true); err != nil {
		t.Fatal(err)
	}
	r, _ = c.Execute(ctx, "SELECT sum(n) FROM tx_test")
	r.Next()
	v, _ := r.Values()
	r.Close()
	if fmt.Sprint(v[0]) != "3" {
		t.Errorf("after rollback and commit: sum %v, want 3", v[0])
	}

	done := make(chan error, 1)
	go func() {
		r, err := c.Execute(ctx, "SELECT pg_sleep(10)")
		if err == nil {
			for r.Next() {
			}
			err = r.Close()
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	if err := c.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	var lbErr *Error
	if err := <-done; !errors.As(err, &lbErr) || lbErr.SQLState != "57014" {
		t.Fatalf("cancelled statement: %v, want SQLSTATE 57014", err)
	}
	exec("SELECT 1") // the session is still usable
}

// TestMillionRowsStreamInBoundedMemory reads a million rows in batches and
// watches the heap.
func TestMillionRowsStreamInBoundedMemory(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	r, err := p.Query(context.Background(), "SELECT g, repeat('x', 100) FROM generate_series(1, 1000000) AS g")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows int
	var peak uint64
	var m runtime.MemStats
	for batches := 0; ; batches++ {
		b, err := r.NextBatch(DefaultFormat, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if b == nil {
			break
		}
		rows += batchRows(t, b)
		if batches%20 == 0 {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
		}
	}
	if rows != 1000000 || r.CommandTag() != "SELECT 1000000" {
		t.Errorf("%d rows, tag %q", rows, r.CommandTag())
	}
	// The whole result is over 100 MB as Go values; a batch is about 1 MB.
	if peak > 64<<20 {
		t.Errorf("heap peaked at %d MiB while streaming", peak>>20)
	}
	t.Logf("heap peak %d MiB", peak>>20)
}

// TestSetAutocommitWithOpenTransaction: switching autocommit while a
// transaction is open is refused, as psycopg does, and the transaction's
// writes are then committed by Commit, not lost.
func TestSetAutocommitWithOpenTransaction(t *testing.T) {
	p := connect(t, lakebaseConn(testEmulator, "Instance="+testEmulator.Info().Lakebase.Instance))
	ctx := context.Background()
	table := fmt.Sprintf("autocommit_%d", time.Now().UnixNano())
	c, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	run := func(sql string) {
		t.Helper()
		r, err := c.Execute(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		r.Close()
	}
	run("CREATE TABLE " + table + " (x int)")
	defer func() {
		if r, err := p.Query(ctx, "DROP TABLE "+table); err == nil {
			r.Close()
		}
	}()
	if err := c.SetAutocommit(false); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(false); err != nil { // no change, no transaction yet
		t.Fatal(err)
	}
	run("INSERT INTO " + table + " VALUES (1)")
	if err := c.SetAutocommit(true); err == nil || !strings.Contains(err.Error(), "commit or roll back first") {
		t.Fatalf("switching autocommit on in a transaction: %v", err)
	}
	if err := c.SetAutocommit(false); err != nil { // no change
		t.Fatal(err)
	}
	if err := c.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.SetAutocommit(true); err != nil {
		t.Fatalf("after Commit: %v", err)
	}
	run("INSERT INTO " + table + " VALUES (2)")
	c.Close()
	if err := c.SetAutocommit(false); err != ErrClosed {
		t.Errorf("on a closed Conn: %v", err)
	}
	if got := scalar(t, p, "SELECT count(*) FROM "+table); got != "2" {
		t.Errorf("%s rows after Close, want 2", got)
	}
}
