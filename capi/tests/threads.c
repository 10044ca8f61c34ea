//go:build ignore

/*
 * threads.c: many threads at once, on one connection, on several and on a
 * pool, and lakelink_cancel from another thread.
 *
 * One connection is one PostgreSQL session: its calls are serialized
 * inside, and a new statement discards what is left of the previous result
 * (lakelink.h). So threads that share a connection without coordinating
 * see each other's statements discard their results; what the library
 * promises is that no call crashes, corrupts or mixes up results: every
 * call either succeeds with this thread's own data or fails cleanly with
 * the documented "discarded" error. Threads that hold a lock of their own
 * around statement-and-read all succeed.
 *
 * Threads that share a pool smaller than their number take a session for
 * each statement (lakelink_pool_acquire, then lakelink_close): they wait
 * for one another's sessions and all succeed.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE  a Lakebase connection string
 */
#include "check.h"

#include <pthread.h>

enum { THREADS = 8, STATEMENTS = 200 };

static const char *lakebase;
static char lakebase_pool[8192];
static uint64_t shared_conn, shared_pool;
static pthread_mutex_t caller_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    int id;
    int locked;    /* hold caller_lock around each statement */
    uint64_t conn; /* the connection to use */
    int ok, discarded;
} worker;

/* one_statement runs SELECT $1 * 2, $2 and checks that the answer is this
 * thread's. Returns 1 when read, 0 when discarded by another thread. */
static int one_statement(worker *w, int i) {
    params p;
    char label[64];
    int64_t key = (int64_t)w->id * 1000000 + i;
    snprintf(label, sizeof label, "t%d-%d", w->id, i);
    params_init(&p);
    params_int64(&p, key);
    params_text(&p, label);
    uint64_t res = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_execute(w->conn, "SELECT $1::int8 * 2 AS twice, $2::text AS label", p.buf, (int64_t)p.len,
                                  &res, &err);
    expect_ok("execute", rc, err);
    uint8_t *b = NULL;
    int64_t len = 0;
    rc = lakelink_result_next_batch(res, 0, NULL, &b, &len, &err);
    int got = 0;
    if (rc == LAKELINK_OK) {
        CHECK(b != NULL, "thread %d statement %d: no batch", w->id, i);
        CHECK(batch_check(b, len) == 1, "thread %d: rows", w->id);
        int64_t twice = batch_int(b, 0, 0);
        char *text = batch_text(b, 1, 0);
        CHECK(twice == 2 * key, "thread %d statement %d: got %lld, want %lld (another thread's row?)", w->id, i,
              (long long)twice, (long long)(2 * key));
        CHECK(strcmp(text, label) == 0, "thread %d statement %d: label %s, want %s", w->id, i, text, label);
        free(text);
        lakelink_free(b);
        got = 1;
    } else {
        CHECK(!w->locked, "thread %d statement %d: %s: %s", w->id, i, status_name(rc), err ? err->message : "");
        CHECK(rc == LAKELINK_ERR_DATABASE, "thread %d statement %d: %s", w->id, i, status_name(rc));
        check_error_shape(__FILE__, __LINE__, "discarded", rc, err);
        CHECK(contains(err->message, "discarded"), "thread %d statement %d: %s", w->id, i, err->message);
        CHECK(b == NULL, "a batch with an error");
        lakelink_error_free(err);
    }
    rc = lakelink_result_close(res, &err);
    expect_ok("result_close", rc, err);
    return got;
}

static void *work(void *arg) {
    worker *w = arg;
    for (int i = 0; i < STATEMENTS; i++) {
        lakelink_error *err = NULL;
        if (w->locked) pthread_mutex_lock(&caller_lock);
        if (shared_pool != 0) {
            int32_t rc = lakelink_pool_acquire(shared_pool, NULL, &w->conn, &err);
            expect_ok("pool_acquire", rc, err);
        }
        int got = one_statement(w, i);
        if (shared_pool != 0) {
            int32_t rc = lakelink_close(w->conn, &err);
            expect_ok("close (return to the pool)", rc, err);
        }
        if (w->locked) pthread_mutex_unlock(&caller_lock);
        if (got)
            w->ok++;
        else
            w->discarded++;
    }
    return NULL;
}

static void run_workers(const char *what, int locked, int own_connections) {
    pthread_t t[THREADS];
    worker w[THREADS];
    double t0 = now_seconds();
    say("%s: %d threads x %d statements", what, THREADS, STATEMENTS);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i + 1;
        w[i].locked = locked;
        w[i].conn = shared_conn;
        if (own_connections) {
            lakelink_error *err = NULL;
            int32_t rc = lakelink_connect(lakebase, &w[i].conn, &err);
            expect_ok("connect", rc, err);
        }
        CHECK(pthread_create(&t[i], NULL, work, &w[i]) == 0, "pthread_create");
    }
    int ok = 0, discarded = 0;
    for (int i = 0; i < THREADS; i++) {
        CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");
        ok += w[i].ok;
        discarded += w[i].discarded;
        if (own_connections) {
            lakelink_error *err = NULL;
            int32_t rc = lakelink_close(w[i].conn, &err);
            expect_ok("close", rc, err);
        }
    }
    printf("   %d read, %d discarded by another thread's statement, in %.2fs\n", ok, discarded, now_seconds() - t0);
    CHECK(ok + discarded == THREADS * STATEMENTS, "lost statements");
    if (locked || own_connections || shared_pool != 0) CHECK(discarded == 0, "%d discarded", discarded);
    CHECK(ok > 0, "no statement read its rows");
}

/* ---- cancel ------------------------------------------------------------ */

typedef struct {
    uint64_t conn;
    int32_t rc;
    char sqlstate[16];
    char message[512];
    double seconds;
} sleeper;

static void *sleep_statement(void *arg) {
    sleeper *s = arg;
    double t0 = now_seconds();
    uint64_t res = 0;
    lakelink_error *err = NULL;
    s->rc = lakelink_execute(s->conn, "SELECT pg_sleep(10)", NULL, 0, &res, &err);
    if (s->rc == LAKELINK_OK) { /* the error comes with the rows */
        uint8_t *b = NULL;
        int64_t len = 0;
        s->rc = lakelink_result_next_batch(res, 0, NULL, &b, &len, &err);
        lakelink_free(b);
        lakelink_error *e2 = NULL;
        lakelink_result_close(res, &e2);
        lakelink_error_free(e2);
    }
    s->seconds = now_seconds() - t0;
    if (err != NULL) {
        check_error_shape(__FILE__, __LINE__, "cancelled statement", s->rc, err);
        snprintf(s->sqlstate, sizeof s->sqlstate, "%s", err->sqlstate);
        snprintf(s->message, sizeof s->message, "%s", err->message);
        lakelink_error_free(err);
    }
    return NULL;
}

static void test_cancel(void) {
    say("cancel from another thread: SELECT pg_sleep(10) fails with 57014 within seconds");
    sleeper s;
    memset(&s, 0, sizeof s);
    s.conn = shared_conn;
    pthread_t t;
    double t0 = now_seconds();
    CHECK(pthread_create(&t, NULL, sleep_statement, &s) == 0, "pthread_create");
    sleep_ms(300);
    /* A loaded machine may not have started the statement yet: a cancel
     * that arrives first is lost (PostgreSQL cancels what runs, nothing
     * later). Wait until the server shows it running, from a second
     * session. */
    uint64_t watcher = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(lakebase, &watcher, &err);
    expect_ok("connect the watcher", rc, err);
    int running = 0;
    for (int i = 0; i < 100 && !running; i++) {
        running = scalar_int(watcher,
                             "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                             "AND query = 'SELECT pg_sleep(10)'",
                             NULL) > 0;
        if (!running) sleep_ms(50);
    }
    CHECK(running, "the statement did not start within 5 s");
    rc = lakelink_close(watcher, &err);
    expect_ok("close the watcher", rc, err);
    double cancel_at = now_seconds();
    rc = lakelink_cancel(shared_conn, &err);
    double cancel_took = now_seconds() - cancel_at;
    expect_ok("cancel", rc, err);
    CHECK(pthread_join(t, NULL) == 0, "pthread_join");
    printf("   the statement ended after %.2fs (the cancel sent at %.2fs, returned in %.3fs): %s [%s] %s\n", s.seconds,
           cancel_at - t0, cancel_took, status_name(s.rc), s.sqlstate, s.message);
    CHECK(cancel_took < 2.0, "cancel blocked for %.2fs", cancel_took);
    CHECK(s.rc == LAKELINK_ERR_DATABASE, "status %s", status_name(s.rc));
    CHECK(strcmp(s.sqlstate, "57014") == 0, "sqlstate \"%s\"", s.sqlstate);
    CHECK(s.seconds < 3.0, "the statement ran %.2fs", s.seconds);

    say("the connection is usable after the cancel");
    CHECK(scalar_int(shared_conn, "SELECT 123", NULL) == 123, "not usable");

    say("cancel with nothing running is harmless");
    rc = lakelink_cancel(shared_conn, &err);
    expect_ok("idle cancel", rc, err);
    sleep_ms(100);
    CHECK(scalar_int(shared_conn, "SELECT 124", NULL) == 124, "not usable after an idle cancel");
}

int main(void) {
    lakebase = need_env("LAKELINK_LAKEBASE");
    snprintf(lakebase_pool, sizeof lakebase_pool, "%s;MaxConnections=3", lakebase);
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(lakebase, &shared_conn, &err);
    expect_ok("connect", rc, err);

    run_workers("one shared connection, no coordination by the caller", 0, 0);
    run_workers("one shared connection, each statement under the caller's lock", 1, 0);
    run_workers("a connection per thread", 0, 1);

    rc = lakelink_pool_open(lakebase_pool, &shared_pool, &err);
    expect_ok("pool_open", rc, err);
    run_workers("a pool of 3 sessions, a session per statement", 0, 0);
    char *stats = NULL;
    rc = lakelink_pool_stats(shared_pool, &stats, &err);
    expect_ok("pool_stats", rc, err);
    printf("   stats %s\n", stats);
    CHECK(json_int(stats, "total") <= 3 && json_int(stats, "acquired") == 0 && json_int(stats, "waiting") == 0,
          "after the workers: %s", stats);
    lakelink_free(stats);
    rc = lakelink_pool_close(shared_pool, &err);
    expect_ok("pool_close", rc, err);
    shared_pool = 0;
    test_cancel();

    rc = lakelink_close(shared_conn, &err);
    expect_ok("close", rc, err);
    printf("PASS threads\n");
    return 0;
}
