//go:build ignore

/*
 * pools.c: pools through the C ABI (ABI 3): open, acquire, stats, a full
 * pool's PoolTimeout, lakelink_close returning a pooled session to its
 * pool while it ends a lakelink_connect session on the server,
 * lakelink_discard ending a pooled session on the server, handles of
 * the wrong kind, a user_token malformed (LAKELINK_ERR_INVALID_ARGUMENT)
 * or refused (LAKELINK_ERR_AUTH), close twice, acquire after close.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE   a Lakebase connection string (service principal, verify-full)
 */
#include "check.h"

/* A bad handle: LAKELINK_ERR_INVALID_HANDLE, the message saying needle. */
#define EXPECT_HANDLE(what, call, needle)                                                                              \
    do {                                                                                                               \
        lakelink_error *err_ = NULL;                                                                                   \
        int32_t rc_ = (call);                                                                                          \
        expect_error_free(what, rc_, err_, LAKELINK_ERR_INVALID_HANDLE, needle);                                       \
    } while (0)

static char *with(const char *conn_str, const char *extra) {
    char *s = malloc(strlen(conn_str) + strlen(extra) + 2);
    CHECK(s != NULL, "out of memory");
    sprintf(s, "%s;%s", conn_str, extra);
    return s;
}

static uint64_t acquire(uint64_t pool) {
    uint64_t conn = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pool_acquire(pool, NULL, &conn, &err);
    expect_ok("lakelink_pool_acquire", rc, err);
    CHECK(conn != 0, "connection handle 0");
    return conn;
}

static void close_conn(uint64_t conn) {
    lakelink_error *err = NULL;
    int32_t rc = lakelink_close(conn, &err);
    expect_ok("lakelink_close", rc, err);
}

/* stat returns one count of the pool's stats. */
static long long pool_stat(uint64_t pool, const char *key) {
    char *json = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pool_stats(pool, &json, &err);
    expect_ok("lakelink_pool_stats", rc, err);
    long long n = json_int(json, key);
    lakelink_free(json);
    return n;
}

/* sessions counts the server's sessions with backend pid, seen from conn,
 * waiting up to 5 s for the count to be want. */
static int64_t sessions(uint64_t conn, int64_t pid, int64_t want) {
    params p;
    int64_t n = -1;
    for (int i = 0; i < 250; i++) {
        params_init(&p);
        params_int32(&p, (int32_t)pid);
        n = scalar_int(conn, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1", &p);
        if (n == want) break;
        sleep_ms(20);
    }
    return n;
}

static void test_open_errors(const char *lakebase) {
    say("pool_open: a connection string that does not parse, MinConnections over MaxConnections, NULL out");
    uint64_t pool = 5;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pool_open("Server=127.0.0.1;PoolTimeout=never", &pool, &err);
    expect_error_free("bad PoolTimeout", rc, err, LAKELINK_ERR_CONNECTION_STRING, "PoolTimeout");
    char *s = with(lakebase, "MinConnections=3;MaxConnections=2");
    rc = lakelink_pool_open(s, &pool, &err);
    expect_error_free("MinConnections > MaxConnections", rc, err, LAKELINK_ERR_CONNECTION_STRING, "MinConnections");
    free(s);
    CHECK(pool == 5, "pool_out changed on failure");
    rc = lakelink_pool_open(lakebase, NULL, &err);
    expect_error_free("NULL pool_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "pool_out");
}

int main(void) {
    const char *lakebase = need_env("LAKELINK_LAKEBASE");
    test_open_errors(lakebase);

    say("pool_open with MaxConnections=2 and PoolTimeout=1: it logs in once");
    char *cs = with(lakebase, "MaxConnections=2;PoolTimeout=1;ApplicationName=capi-pools");
    uint64_t pool = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pool_open(cs, &pool, &err);
    expect_ok("lakelink_pool_open", rc, err);
    CHECK(pool != 0, "pool handle 0");
    char *json = NULL;
    rc = lakelink_pool_stats(pool, &json, &err);
    expect_ok("lakelink_pool_stats", rc, err);
    printf("   stats %s\n", json);
    CHECK(json_int(json, "total") == 1 && json_int(json, "idle") == 1 && json_int(json, "acquired") == 0 &&
              json_int(json, "waiting") == 0 && json_int(json, "max") == 2 && json_int(json, "users") == 0 &&
              json_int(json, "user_sessions") == 0,
          "after open: %s", json);
    lakelink_free(json);

    say("two sessions acquired: distinct backends, the pool full");
    uint64_t a = acquire(pool), b = acquire(pool);
    int64_t pid_a = scalar_int(a, "SELECT pg_backend_pid()", NULL);
    int64_t pid_b = scalar_int(b, "SELECT pg_backend_pid()", NULL);
    CHECK(pid_a != pid_b, "both on backend %lld", (long long)pid_a);
    CHECK(pool_stat(pool, "acquired") == 2 && pool_stat(pool, "total") == 2, "acquired %lld of %lld", pool_stat(pool, "acquired"),
          pool_stat(pool, "total"));

    say("a third acquire waits PoolTimeout, then fails naming the pool's size");
    uint64_t c = 9;
    double start = now_seconds();
    rc = lakelink_pool_acquire(pool, NULL, &c, &err);
    double waited = now_seconds() - start;
    lakelink_error *full = expect_error("full pool", rc, err, LAKELINK_ERR_DATABASE, "MaxConnections=2");
    printf("   after %.2f s: %s\n", waited, full->message);
    CHECK(contains(full->message, "PoolTimeout") && contains(full->message, "all 2 sessions"), "%s", full->message);
    lakelink_error_free(full);
    CHECK(waited >= 0.9 && waited < 5, "waited %.2f s, want PoolTimeout (1 s)", waited);
    CHECK(c == 9, "conn_out changed on failure");

    say("lakelink_session_idle: a session with nothing in progress is idle; one in a transaction is not");
    int32_t idle = -1;
    rc = lakelink_session_idle(a, &idle, &err);
    expect_ok("lakelink_session_idle", rc, err);
    CHECK(idle == 1, "an idle session: idle_out %d", idle);
    rc = lakelink_begin(a, &err);
    expect_ok("lakelink_begin", rc, err);
    CHECK(scalar_int(a, "SELECT 1", NULL) == 1, "SELECT 1 in the transaction");
    rc = lakelink_session_idle(a, &idle, &err);
    expect_ok("lakelink_session_idle", rc, err);
    CHECK(idle == 0, "a session in a transaction: idle_out %d", idle);
    rc = lakelink_rollback(a, &err);
    expect_ok("lakelink_rollback", rc, err);

    say("lakelink_close returns a pooled session to its pool: it stays on the server, and is taken again");
    close_conn(a);
    CHECK(pool_stat(pool, "acquired") == 1 && pool_stat(pool, "idle") == 1, "after close: acquired %lld, idle %lld",
          pool_stat(pool, "acquired"), pool_stat(pool, "idle"));
    CHECK(sessions(b, pid_a, 1) == 1, "the returned session %lld left the server", (long long)pid_a);
    c = acquire(pool);
    CHECK(scalar_int(c, "SELECT pg_backend_pid()", NULL) == pid_a, "not the returned session");

    say("lakelink_close ends a lakelink_connect session on the server");
    uint64_t own = 0;
    rc = lakelink_connect(lakebase, &own, &err);
    expect_ok("lakelink_connect", rc, err);
    int64_t pid_own = scalar_int(own, "SELECT pg_backend_pid()", NULL);
    CHECK(pid_own != pid_a && pid_own != pid_b, "lakelink_connect shared a pool's session %lld", (long long)pid_own);
    close_conn(own);
    CHECK(sessions(b, pid_own, 0) == 0, "session %lld of a closed lakelink_connect is still on the server",
          (long long)pid_own);

    say("lakelink_discard ends a pooled session on the server: the pool drops it and opens another");
    lakelink_error *derr = NULL;
    rc = lakelink_discard(c, &derr);
    expect_ok("lakelink_discard", rc, derr);
    CHECK(pool_stat(pool, "total") == 1 && pool_stat(pool, "acquired") == 1 && pool_stat(pool, "idle") == 0,
          "after discard: total %lld, acquired %lld, idle %lld", pool_stat(pool, "total"), pool_stat(pool, "acquired"),
          pool_stat(pool, "idle"));
    CHECK(sessions(b, pid_a, 0) == 0, "the discarded session %lld is still on the server", (long long)pid_a);
    EXPECT_HANDLE("discard twice", lakelink_discard(c, &err_), "unknown or closed");
    c = acquire(pool);
    int64_t pid_c = scalar_int(c, "SELECT pg_backend_pid()", NULL);
    CHECK(pid_c != pid_a && pid_c != pid_b, "the discarded session %lld came back", (long long)pid_a);
    CHECK(pool_stat(pool, "total") == 2, "total %lld after a new acquire", pool_stat(pool, "total"));

    say("lakelink_discard of a lakelink_connect session ends it, as lakelink_close does");
    rc = lakelink_connect(lakebase, &own, &err);
    expect_ok("lakelink_connect", rc, err);
    pid_own = scalar_int(own, "SELECT pg_backend_pid()", NULL);
    rc = lakelink_discard(own, &derr);
    expect_ok("lakelink_discard (connect)", rc, derr);
    CHECK(sessions(b, pid_own, 0) == 0, "session %lld of a discarded lakelink_connect is still on the server",
          (long long)pid_own);

    say("handles of the wrong kind, a user_token that is empty or not a token");
    uint64_t out = 0, res = run(b, "SELECT 1", NULL);
    char *s = NULL;
    EXPECT_HANDLE("execute(pool)", lakelink_execute(pool, "SELECT 1", NULL, 0, &out, &err_), "not a connection");
    EXPECT_HANDLE("close(pool)", lakelink_close(pool, &err_), "not a connection");
    EXPECT_HANDLE("discard(pool)", lakelink_discard(pool, &err_), "not a connection");
    EXPECT_HANDLE("result_close(pool)", lakelink_result_close(pool, &err_), "not a result");
    EXPECT_HANDLE("pool_acquire(connection)", lakelink_pool_acquire(b, NULL, &out, &err_), "not a pool");
    EXPECT_HANDLE("pool_stats(result)", lakelink_pool_stats(res, &s, &err_), "not a pool");
    EXPECT_HANDLE("pool_close(connection)", lakelink_pool_close(b, &err_), "not a pool");
    EXPECT_HANDLE("pool_acquire(0)", lakelink_pool_acquire(0, NULL, &out, &err_), "never valid");
    EXPECT_HANDLE("pool_stats(UINT64_MAX)", lakelink_pool_stats(UINT64_MAX, &s, &err_), NULL);
    close_result(res);
    rc = lakelink_pool_acquire(pool, "", &out, &err);
    expect_error_free("empty user_token", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "user_token");
    rc = lakelink_pool_acquire(pool, NULL, NULL, &err);
    expect_error_free("NULL conn_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "conn_out");
    rc = lakelink_pool_stats(pool, NULL, &err);
    expect_error_free("NULL json_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "json_out");
    rc = lakelink_pool_acquire(pool, "SECRET-4711 SECRET-4712", &out, &err);
    lakelink_error *two = expect_error("two user tokens", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "more than one");
    CHECK(!contains(two->message, "SECRET-471"), "the token in the error: %s", two->message);
    lakelink_error_free(two);
    const char *not_a_token = "not-a-token-SECRET-4711";
    rc = lakelink_pool_acquire(pool, not_a_token, &out, &err);
    lakelink_error *refused = expect_error("a user_token the workspace refuses", rc, err, LAKELINK_ERR_AUTH, "did not accept");
    CHECK(!contains(refused->message, "SECRET-4711"), "the token in the error: %s", refused->message);
    lakelink_error_free(refused);
    CHECK(s == NULL && out == 0, "an output was set");

    say("pool_close: acquired sessions work on until returned; the pool handle is gone; close twice");
    rc = lakelink_pool_close(pool, &err);
    expect_ok("lakelink_pool_close", rc, err);
    EXPECT_HANDLE("pool_close twice", lakelink_pool_close(pool, &err_), "unknown or closed");
    EXPECT_HANDLE("pool_acquire after close", lakelink_pool_acquire(pool, NULL, &out, &err_), "unknown or closed");
    EXPECT_HANDLE("pool_stats after close", lakelink_pool_stats(pool, &s, &err_), "unknown or closed");
    CHECK(scalar_int(b, "SELECT 41 + 1", NULL) == 42, "an acquired session after its pool closed");
    close_conn(c);
    close_conn(b);
    EXPECT_HANDLE("close twice", lakelink_close(b, &err_), "unknown or closed");
    rc = lakelink_connect(lakebase, &own, &err);
    expect_ok("lakelink_connect", rc, err);
    CHECK(sessions(own, pid_c, 0) == 0 && sessions(own, pid_b, 0) == 0,
          "the closed pool's sessions %lld and %lld are still on the server", (long long)pid_c, (long long)pid_b);
    close_conn(own);
    free(cs);

    printf("PASS pools\n");
    return 0;
}
