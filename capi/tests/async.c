//go:build ignore

/*
 * async.c: the asynchronous calls from a caller that is not Python
 * (lakelink.h, "Asynchronous calls"): a loop of poll(2) on the queue's
 * descriptor, as Node's libuv or any event loop would watch it; a
 * statement that completes later, a cancelled one (SQLSTATE 57014, the
 * session usable after), a bulk call, and misuse; and a pipeline channel
 * (lakelink_pipeline_channel_open): pipelines written to a socket and
 * their answers read from it; and COPY sockets
 * (lakelink_copy_from_socket): a COPY's data written as frames, its
 * outcome read back; and a statement whose answer this loop reads from
 * the session's socket itself (lakelink_query_send).
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE   a Lakebase connection string
 */
#include "check.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

static uint64_t queue;
static int queue_fd;

/* poll_in: whether fd is readable within ms. A signal interrupting the
 * wait (Go's runtime preempts its threads with SIGURG, this one's too
 * while it is in a call) only starts it again. */
static int poll_in(int fd, int ms) {
    struct pollfd p = {fd, POLLIN, 0};
    int n;
    do {
        n = poll(&p, 1, ms);
    } while (n < 0 && errno == EINTR);
    CHECK(n >= 0, "poll failed: %s", strerror(errno));
    return n > 0 && (p.revents & POLLIN);
}

/* readable: whether the queue's descriptor is readable within ms. */
static int readable(int ms) { return poll_in(queue_fd, ms); }

/* await_call: waits (poll) until call is among the completed calls taken. */
static void await_call(uint64_t call) {
    for (int tries = 0; tries < 3000; tries++) {
        if (!readable(10)) continue;
        uint64_t ids[4];
        int32_t n = 0;
        lakelink_error *err = NULL;
        int found = 0;
        do {
            int32_t rc = lakelink_queue_take(queue, ids, 4, &n, &err);
            expect_ok("lakelink_queue_take", rc, err);
            for (int32_t i = 0; i < n; i++) found |= ids[i] == call;
        } while (n == 4);
        if (found) return;
    }
    CHECK(0, "call %llu never completed", (unsigned long long)call);
}

static uint64_t query_start(uint64_t conn, const char *sql) {
    uint64_t call = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_query_start(queue, conn, sql, NULL, 0, 0, NULL, &call, &err);
    expect_ok(sql, rc, err);
    CHECK(call != 0, "call handle 0");
    return call;
}

/* query_collect: the completed query's status; on success *value is its first column's first row. */
static int32_t query_collect(uint64_t call, int64_t *value, lakelink_error **err) {
    char *cols = NULL, *tag = NULL;
    uint8_t *batch = NULL;
    int64_t len = 0, affected = 0;
    uint64_t res = 0;
    int32_t rc = lakelink_call_query(call, &cols, &batch, &len, &tag, &affected, &res, err);
    if (rc != LAKELINK_OK) return rc;
    CHECK(res == 0 && batch != NULL && batch_rows(batch) == 1, "one row, complete");
    *value = batch_int(batch, batch_columns(batch) - 1, 0);
    CHECK(strcmp(tag, "SELECT 1") == 0 && affected == 1, "tag %s", tag);
    lakelink_free(cols);
    lakelink_free(batch);
    lakelink_free(tag);
    return rc;
}

/* put_u32 writes v at p, little-endian. */
static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* channel_write writes a pipeline request (TYPES.md, "Pipeline channels"):
 * id, the connection's or pool's handle, max_rows 0, the default format,
 * the user token (NULL: none), and one statement without parameters. */
static void channel_write(int fd, uint64_t id, uint64_t handle, const char *token, const char *sql) {
    uint8_t req[256];
    size_t tn = token ? strlen(token) : 0, n = strlen(sql), len = 4 + 24 + 4 + tn + 8 + n;
    CHECK(len <= sizeof req, "request too long");
    memset(req, 0, len);
    put_u32(req, (uint32_t)(len - 4));
    for (int i = 0; i < 8; i++) req[4 + i] = (uint8_t)(id >> (8 * i));
    for (int i = 0; i < 8; i++) req[12 + i] = (uint8_t)(handle >> (8 * i));
    put_u32(req + 28, (uint32_t)tn);
    memcpy(req + 32, token ? token : "", tn);
    put_u32(req + 32 + tn, (uint32_t)n);
    memcpy(req + 36 + tn, sql, n);
    CHECK(write(fd, req, len) == (ssize_t)len, "write to the channel");
}

/* check_answer checks a pipeline's answers (TYPES.md, "Pipelines"): one
 * statement's, that succeeded with command tag tag. */
static void check_answer(const char *what, const uint8_t *body, size_t n, const char *tag) {
    CHECK(n > 1 && body[0] == 0, "%s: its statement failed", what);
    size_t at = 1 + 4 + rd_u32(body + 1); /* past the columns */
    size_t k = rd_u32(body + at);
    CHECK(k == strlen(tag) && memcmp(body + at + 4, tag, k) == 0, "%s: tag %.*s", what, (int)k, (const char *)body + at + 4);
}

/* channel_read reads an answer: its id in *id, its status in *status, its
 * body (to free) and the body's length in *n. */
static uint8_t *channel_read(int fd, uint64_t *id, int32_t *status, size_t *n) {
    uint8_t head[16];
    for (size_t got = 0; got < sizeof head;) {
        ssize_t r = read(fd, head + got, sizeof head - got);
        CHECK(r > 0, "read from the channel");
        got += (size_t)r;
    }
    *n = rd_u32(head) - 12;
    *id = rd_u64(head + 4);
    *status = (int32_t)rd_u32(head + 12);
    uint8_t *body = malloc(*n + 1);
    for (size_t got = 0; got < *n;) {
        ssize_t r = read(fd, body + got, *n - got);
        CHECK(r > 0, "read from the channel");
        got += (size_t)r;
    }
    body[*n] = 0;
    return body;
}

/* test_channel: pipelines on a connection and on a pool, a bad handle and
 * a user token for a connection over one channel, each answered with its
 * request's id. */
static void test_channel(uint64_t conn, uint64_t pool) {
    say("a pipeline channel: requests written to its socket, answers read from it, each with its id");
    int fd = -1;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pipeline_channel_open(&fd, &err);
    expect_ok("lakelink_pipeline_channel_open", rc, err);
    channel_write(fd, 7, conn, NULL, "SELECT 41 + 1 AS n");
    channel_write(fd, 8, 0, NULL, "SELECT 1");
    channel_write(fd, 9, pool, NULL, "SELECT 41 + 1 AS n");
    channel_write(fd, 10, conn, "a-token", "SELECT 1");
    int seen = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t id = 0;
        int32_t status = 0;
        size_t n = 0;
        uint8_t *body = channel_read(fd, &id, &status, &n);
        if (id == 7 || id == 9) {
            CHECK(status == LAKELINK_OK, "request %llu: status %d", (unsigned long long)id, status);
            check_answer(id == 7 ? "the connection's pipeline" : "the pool's pipeline", body, n, "SELECT 1");
        } else if (id == 8) {
            CHECK(status == LAKELINK_ERR_INVALID_HANDLE, "request 8: status %d", status);
            CHECK(contains((const char *)body, "handle 0 is never valid"), "request 8: %s", (const char *)body);
        } else {
            CHECK(id == 10 && status == LAKELINK_ERR_INVALID_ARGUMENT, "answer %llu: status %d", (unsigned long long)id, status);
            CHECK(contains((const char *)body, "not a connection's") && !contains((const char *)body, "a-token"), "request 10: %s",
                  (const char *)body);
        }
        seen |= 1 << (id - 7);
        free(body);
    }
    CHECK(seen == 15, "all answered");
    CHECK(close(fd) == 0, "closing the channel");
    rc = lakelink_pipeline_channel_open(NULL, &err);
    expect_error_free("fd_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "fd_out");
}

/* copy_frame writes a COPY socket's frame: kind ('d', 'c' or 'f') and body. */
static void copy_frame(int fd, char kind, const char *body) {
    uint8_t head[5];
    size_t n = strlen(body);
    head[0] = (uint8_t)kind;
    for (int i = 0; i < 4; i++) head[1 + i] = (uint8_t)(n >> (8 * i));
    CHECK(write(fd, head, 5) == 5 && write(fd, body, n) == (ssize_t)n, "write to the COPY's socket");
}

/* copy_outcome reads a COPY socket's outcome: its status; *rows the rows
 * copied (status 0), else *body (to free) the error's JSON. */
static int32_t copy_outcome(int fd, int64_t *rows, char **body) {
    uint8_t buf[4096];
    size_t got = 0;
    while (got < 4 || got < 4 + (size_t)rd_u32(buf)) {
        ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
        CHECK(r > 0, "read the COPY's outcome");
        got += (size_t)r;
    }
    int32_t status = (int32_t)rd_u32(buf + 4);
    buf[got] = 0;
    if (status == LAKELINK_OK) *rows = (int64_t)rd_u64(buf + 8);
    else *body = strdup((const char *)buf + 8);
    return status;
}

/* copy_socket starts sql with lakelink_copy_from_socket: its descriptor. */
static int copy_socket(uint64_t conn, const char *sql) {
    int fd = -1;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_copy_from_socket(conn, sql, &fd, &err);
    expect_ok("lakelink_copy_from_socket", rc, err);
    return fd;
}

/* test_copy_socket: a COPY fed through its socket, one to no table, and an aborted one. */
static void test_copy_socket(uint64_t conn) {
    say("a COPY socket: data frames, then done: the rows copied come back; a bad statement and an abort fail");
    lakelink_error *err = NULL;
    close_result(run(conn, "CREATE TEMP TABLE copy_sock (id int, s text)", NULL));
    int fd = copy_socket(conn, "COPY copy_sock FROM STDIN");
    copy_frame(fd, 'd', "1\tone\n2\t");
    copy_frame(fd, 'd', "two\n3\tthree\n");
    copy_frame(fd, 'c', "");
    int64_t rows = 0;
    char *body = NULL;
    CHECK(copy_outcome(fd, &rows, &body) == LAKELINK_OK && rows == 3, "rows %lld", (long long)rows);
    close(fd);
    CHECK(scalar_int(conn, "SELECT count(*) FROM copy_sock WHERE s IN ('one', 'two', 'three')", NULL) == 3, "the rows");

    fd = copy_socket(conn, "COPY no_such_table_c FROM STDIN");
    copy_frame(fd, 'd', "1\tx\n");
    CHECK(copy_outcome(fd, &rows, &body) == LAKELINK_ERR_DATABASE && contains(body, "42P01"), "no such table: %s", body);
    free(body);
    copy_frame(fd, 'd', "data after the outcome is read and dropped\n");
    close(fd);

    fd = copy_socket(conn, "COPY copy_sock FROM STDIN");
    copy_frame(fd, 'd', "4\tfour\n");
    copy_frame(fd, 'f', "stopped by the test");
    CHECK(copy_outcome(fd, &rows, &body) == LAKELINK_ERR_DATABASE && contains(body, "57014") &&
              contains(body, "stopped by the test"),
          "abort: %s", body);
    free(body);
    close(fd);
    CHECK(scalar_int(conn, "SELECT count(*) FROM copy_sock", NULL) == 3, "nothing of the aborted COPY");
    int32_t rc = lakelink_copy_from_socket(conn, "COPY copy_sock FROM STDIN", NULL, &err);
    expect_error_free("fd_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "fd_out");
}

/* feed_answer: reads the session's socket fd (poll(2), as an event loop
 * watches it) and feeds conn what comes until the answer needs no more:
 * what lakelink_query_feed told last. */
static int32_t feed_answer(uint64_t conn, int fd) {
    int32_t feeding = LAKELINK_FEED_MORE;
    lakelink_error *err = NULL;
    while (feeding == LAKELINK_FEED_MORE) {
        CHECK(poll_in(fd, 5000), "no answer in 5 s");
        uint8_t buf[4096];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        CHECK(n > 0, "reading the session's socket: %zd", n);
        int32_t rc = lakelink_query_feed(conn, buf, (int64_t)n, &feeding, &err);
        expect_ok("lakelink_query_feed", rc, err);
    }
    return feeding;
}

/* test_fed: statements whose answers this loop reads from the session's
 * socket: prepared once, then sent, fed, received as lakelink_query's. */
static void test_fed(uint64_t conn) {
    say("a statement whose answer the caller reads: prepared once, then sent, fed from the socket, received");
    lakelink_error *err = NULL;
    int32_t fd = -1;
    int32_t rc = lakelink_session_socket(conn, &fd, &err);
    expect_ok("lakelink_session_socket", rc, err);
    const char *sql = "SELECT 41::int8 + 1";
    int32_t sending = -1;
    rc = lakelink_query_send(conn, sql, NULL, 0, &sending, &err);
    expect_ok("lakelink_query_send", rc, err);
    CHECK(sending == LAKELINK_SEND_PREPARE_FIRST, "sending %d before preparing", sending);
    rc = lakelink_query_prepare(conn, sql, &err);
    expect_ok("lakelink_query_prepare", rc, err);
    for (int round = 0; round < 3; round++) {
        rc = lakelink_query_send(conn, sql, NULL, 0, &sending, &err);
        expect_ok("lakelink_query_send", rc, err);
        CHECK(sending == LAKELINK_SEND_SENT, "sending %d", sending);
        int32_t feeding = feed_answer(conn, fd);
        CHECK(feeding == LAKELINK_FEED_COMPLETE, "feeding %d", feeding);
        char *cols = NULL, *tag = NULL;
        uint8_t *batch = NULL;
        int64_t len = 0, affected = 0;
        uint64_t res = 0;
        rc = lakelink_query_receive(conn, 0, NULL, &cols, &batch, &len, &tag, &affected, &res, &err);
        expect_ok("lakelink_query_receive", rc, err);
        CHECK(res == 0 && batch != NULL && batch_rows(batch) == 1 && batch_int(batch, 0, 0) == 42, "one row, 42");
        CHECK(strcmp(tag, "SELECT 1") == 0 && affected == 1, "tag %s, %lld", tag, (long long)affected);
        lakelink_free(cols);
        lakelink_free(batch);
        lakelink_free(tag);
    }

    say("misuse: receiving with nothing sent, no out-parameter, SQL of several statements (not sent)");
    char *cols = NULL, *tag = NULL;
    uint8_t *batch = NULL;
    int64_t len = 0, affected = 0;
    uint64_t res = 0;
    rc = lakelink_query_receive(conn, 0, NULL, &cols, &batch, &len, &tag, &affected, &res, &err);
    expect_error_free("nothing sent", rc, err, LAKELINK_ERR_DATABASE, "discarded");
    rc = lakelink_query_send(conn, sql, NULL, 0, NULL, &err);
    expect_error_free("no sending_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "sending_out");
    rc = lakelink_query_feed(conn, (const uint8_t *)"x", 1, NULL, &err);
    expect_error_free("no feeding_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "feeding_out");
    rc = lakelink_query_send(conn, "SELECT 1; SELECT 2", NULL, 0, &sending, &err);
    expect_ok("several statements", rc, err);
    CHECK(sending == LAKELINK_SEND_NOT_SENT, "sending %d", sending);
    close(fd);
}

int main(void) {
    const char *cs = need_env("LAKELINK_LAKEBASE");
    lakelink_error *err = NULL;
    int32_t rc = lakelink_queue_open(&queue_fd, &queue, &err);
    expect_ok("lakelink_queue_open", rc, err);
    CHECK(queue_fd >= 0 && !readable(0), "a new queue's descriptor is not readable");

    say("connect without blocking: the call completes on the queue");
    uint64_t call = 0, conn = 0;
    rc = lakelink_connect_start(queue, cs, &call, &err);
    expect_ok("lakelink_connect_start", rc, err);
    await_call(call);
    rc = lakelink_call_handle(call, &conn, &err);
    expect_ok("lakelink_call_handle", rc, err);
    CHECK(conn != 0, "connection handle 0");
    rc = lakelink_call_handle(call, &conn, &err);
    expect_error_free("collected twice", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);

    say("a statement of 300 ms: the start returns at once, the descriptor becomes readable when it ends");
    double t0 = now_seconds();
    call = query_start(conn, "SELECT pg_sleep(0.3), 42::int8");
    CHECK(now_seconds() - t0 < 0.1, "the start took %.3f s", now_seconds() - t0);
    CHECK(!readable(100), "readable before the statement ended");
    await_call(call);
    CHECK(now_seconds() - t0 >= 0.3, "completed after %.3f s", now_seconds() - t0);
    int64_t v = 0;
    rc = query_collect(call, &v, &err);
    expect_ok("lakelink_call_query", rc, err);
    CHECK(v == 42, "value %lld", (long long)v);
    CHECK(!readable(0), "still readable once every call was taken");

    say("cancelling: LAKELINK_STEP_CANCEL ends the statement with 57014; the session stays usable");
    call = query_start(conn, "SELECT pg_sleep(30), 1::int8");
    sleep_ms(200);
    uint64_t stop = 0;
    rc = lakelink_session_start(queue, conn, LAKELINK_STEP_CANCEL, &stop, &err);
    expect_ok("cancel start", rc, err);
    t0 = now_seconds();
    await_call(call);
    CHECK(now_seconds() - t0 < 5, "the cancelled statement ran %.1f s", now_seconds() - t0);
    rc = query_collect(call, &v, &err);
    lakelink_error *e = expect_error("cancelled", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(e->sqlstate, "57014") == 0, "sqlstate %s", e->sqlstate);
    lakelink_error_free(e);
    rc = lakelink_call_done(stop, &err);  /* completed by now, or waited for */
    expect_ok("cancel collected", rc, err);
    call = query_start(conn, "SELECT 7::int8");
    int32_t done = 0;
    rc = lakelink_call_wait(call, 5000000, &done, &err);
    expect_ok("lakelink_call_wait", rc, err);
    CHECK(done == 1, "a short statement not done in 5 s");
    rc = query_collect(call, &v, &err);
    expect_ok("after the cancel", rc, err);
    CHECK(v == 7, "value %lld", (long long)v);

    say("start and wait in one crossing: a short statement collected at once, a slow one left to the queue");
    {
        char *cols = NULL, *tag = NULL;
        uint8_t *batch = NULL;
        int64_t len = 0, affected = 0;
        uint64_t res = 0;
        call = 0;
        rc = lakelink_query_start_wait(queue, conn, "SELECT 8::int8", NULL, 0, 0, NULL, 5000000, &call, &done, &cols,
                                       &batch, &len, &tag, &affected, &res, &err);
        expect_ok("lakelink_query_start_wait", rc, err);
        CHECK(done == 1 && res == 0 && batch != NULL && batch_rows(batch) == 1, "done %d, one row", done);
        CHECK(batch_int(batch, batch_columns(batch) - 1, 0) == 8, "value");
        lakelink_free(cols);
        lakelink_free(batch);
        lakelink_free(tag);
        rc = lakelink_call_done(call, &err);
        expect_error_free("collected by the wait", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);
        rc = lakelink_query_start_wait(queue, conn, "SELECT 1/0", NULL, 0, 0, NULL, 5000000, &call, &done, &cols,
                                       &batch, &len, &tag, &affected, &res, &err);
        e = expect_error("a failing statement", rc, err, LAKELINK_ERR_DATABASE, NULL);
        CHECK(done == 1 && strcmp(e->sqlstate, "22012") == 0, "done %d, sqlstate %s", done, e->sqlstate);
        lakelink_error_free(e);
        t0 = now_seconds();
        rc = lakelink_query_start_wait(queue, conn, "SELECT pg_sleep(0.3), 9::int8", NULL, 0, 0, NULL, 1000, &call,
                                       &done, &cols, &batch, &len, &tag, &affected, &res, &err);
        expect_ok("a slow statement", rc, err);
        CHECK(done == 0 && call != 0 && now_seconds() - t0 < 0.1, "done %d after %.3f s", done, now_seconds() - t0);
        await_call(call);
        rc = query_collect(call, &v, &err);
        expect_ok("the slow statement collected", rc, err);
        CHECK(v == 9, "value %lld", (long long)v);
    }

    say("misuse: a call collected as another kind, max 0, a connection handle as a queue");
    call = query_start(conn, "SELECT 1::int8");
    uint64_t h = 0;
    rc = lakelink_call_handle(call, &h, &err);
    expect_error_free("a query collected as a handle", rc, err, LAKELINK_ERR_INVALID_HANDLE, "not one that opens");
    uint64_t ids[1];
    int32_t n = 0;
    rc = lakelink_queue_take(queue, ids, 0, &n, &err);
    expect_error_free("max 0", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "max");
    rc = lakelink_query_start(conn, conn, "SELECT 1", NULL, 0, 0, NULL, &call, &err);
    expect_error_free("a connection as a queue", rc, err, LAKELINK_ERR_INVALID_HANDLE, "not a queue");
    rc = lakelink_session_start(queue, conn, 99, &call, &err);
    expect_error_free("step 99", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "LAKELINK_STEP_");

    uint64_t pool = 0;
    rc = lakelink_pool_open(cs, &pool, &err);
    expect_ok("lakelink_pool_open", rc, err);
    test_channel(conn, pool);
    rc = lakelink_pool_close(pool, &err);
    expect_ok("lakelink_pool_close", rc, err);
    test_copy_socket(conn);
    test_fed(conn);

    say("closing through the queue: the handle is invalid at once");
    rc = lakelink_session_start(queue, conn, LAKELINK_STEP_CLOSE, &call, &err);
    expect_ok("close start", rc, err);
    rc = lakelink_session_start(queue, conn, LAKELINK_STEP_COMMIT, &h, &err);
    expect_error_free("a step on a closing connection", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);
    await_call(call);
    rc = lakelink_call_done(call, &err);
    expect_ok("closed", rc, err);
    while (readable(0)) {
        rc = lakelink_queue_take(queue, ids, 1, &n, &err);
        expect_ok("drain", rc, err);
    }
    rc = lakelink_queue_close(queue, &err);
    expect_ok("lakelink_queue_close", rc, err);
    rc = lakelink_queue_close(queue, &err);
    expect_error_free("closed twice", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);
    printf("PASS async\n");
    return 0;
}
