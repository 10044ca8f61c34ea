//go:build ignore

/*
 * bulk.c: executemany and COPY through the C ABI (lakelink.h, "Bulk:
 * executemany and COPY"): parameter rows in one call, several statements
 * in one lakelink_execute, COPY FROM STDIN as bytes and as rows, COPY TO
 * STDOUT read in chunks, aborts, errors, and handles of the wrong kind;
 * and pipelines (lakelink_query_pipeline): independent statements in one
 * call, one that fails failing alone.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE   a Lakebase connection string
 */
#include "check.h"

/* rows_add appends the parameter list p to the rows buffer (*buf, *len). */
static void rows_add(uint8_t *buf, size_t cap, size_t *len, const params *p) {
    CHECK(*len + p->len <= cap, "rows buffer full");
    memcpy(buf + *len, p->buf, p->len);
    *len += p->len;
}

static void exec_ok(uint64_t conn, const char *sql) { close_result(run(conn, sql, NULL)); }

static void test_several_statements(uint64_t conn) {
    say("several statements in one lakelink_execute: the last one's result; rows affected -1 without a count");
    uint64_t res = run(conn, "DROP TABLE IF EXISTS capi_bulk; CREATE TABLE capi_bulk (id int, s text)", NULL);
    char *tag = NULL;
    int64_t affected = 0;
    lakelink_error *err = NULL;
    int64_t len = 0;
    CHECK(fetch(res, 0, &len) == NULL, "rows from CREATE TABLE");
    int32_t rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "CREATE TABLE") == 0 && affected == -1, "tag %s, rows %lld", tag, (long long)affected);
    lakelink_free(tag);
    close_result(res);
    CHECK(scalar_int(conn, "SELECT 1; SELECT 2; SELECT count(*) FROM capi_bulk", NULL) == 0, "last result");
}

static void test_execute_many(uint64_t conn) {
    say("lakelink_execute_many: 500 rows in one call, their total rows affected");
    static uint8_t rows[64 * 1024];
    size_t len = 0;
    char text[32];
    for (int i = 0; i < 500; i++) {
        params p;
        params_init(&p);
        params_int32(&p, i);
        snprintf(text, sizeof text, "row %d", i);
        params_text(&p, text);
        rows_add(rows, sizeof rows, &len, &p);
    }
    int64_t affected = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_execute_many(conn, "INSERT INTO capi_bulk VALUES ($1, $2)", rows, (int64_t)len, &affected, &err);
    expect_ok("lakelink_execute_many", rc, err);
    CHECK(affected == 500, "rows affected %lld", (long long)affected);
    CHECK(scalar_int(conn, "SELECT sum(id) FROM capi_bulk", NULL) == 124750, "sum");

    rc = lakelink_execute_many(conn, "INSERT INTO capi_bulk VALUES ($1, $2)", NULL, 0, NULL, &err);
    expect_ok("no rows", rc, err);
    rc = lakelink_execute_many(conn, "INSERT INTO capi_bulk VALUES ($1, $2)", rows, (int64_t)len - 1, &affected, &err);
    lakelink_error *e = expect_error("a truncated row", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL);
    CHECK(contains(e->message, "row 499"), "message %s", e->message);
    lakelink_error_free(e);
    rc = lakelink_execute_many(conn, "INSERT INTO capi_bulk VALUES ($1::int / 0, $2)", rows, (int64_t)len, &affected, &err);
    e = expect_error("division by zero", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(e->sqlstate, "22012") == 0, "sqlstate %s", e->sqlstate);
    lakelink_error_free(e);
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk", NULL) == 500, "a failed batch left rows");
}

static void test_copy_from(uint64_t conn) {
    say("COPY FROM STDIN: bytes, then rows, then an abort");
    uint64_t copy = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_copy_from(conn, "COPY capi_bulk FROM STDIN", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    const char *data = "1000\tbytes\n1001\t\\N\n";
    /* any split of the data */
    rc = lakelink_copy_write(copy, (const uint8_t *)data, 7, &err);
    expect_ok("write", rc, err);
    rc = lakelink_copy_write(copy, (const uint8_t *)data + 7, (int64_t)strlen(data) - 7, &err);
    expect_ok("write", rc, err);
    int64_t n = 0;
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    expect_ok("end", rc, err);
    CHECK(n == 2, "rows copied %lld", (long long)n);
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    lakelink_error_free(expect_error("end twice", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL));

    rc = lakelink_copy_from(conn, "COPY capi_bulk (id, s) FROM STDIN", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    static uint8_t rows[4096];
    size_t len = 0;
    params p;
    params_init(&p);
    params_int64(&p, 2000);
    params_text(&p, "tab\there, newline\nhere, backslash \\ here");
    rows_add(rows, sizeof rows, &len, &p);
    params_init(&p);
    params_int64(&p, 2001);
    params_null(&p);
    rows_add(rows, sizeof rows, &len, &p);
    rc = lakelink_copy_write_rows(copy, NULL, rows, (int64_t)len, &err);
    expect_ok("write rows", rc, err);
    rc = lakelink_copy_write(copy, NULL, 0, &err);
    expect_ok("write nothing", rc, err);
    /* pickle.dumps([(4000, 'pickled')], 5), and [({},)]: a dict only parameter rows carry */
    static const uint8_t pickled[] = "\x80\x05\x95\x13\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x4d\xa0\x0f\x8c\x07"
                                     "\x70\x69\x63\x6b\x6c\x65\x64\x94\x86\x94\x61\x2e";
    static const uint8_t dict[] = "\x80\x05\x95\x08\x00\x00\x00\x00\x00\x00\x00\x5d\x94\x7d\x94\x85\x94\x61\x2e";
    rc = lakelink_copy_write_rows(copy, "pickle", pickled, (int64_t)sizeof pickled - 1, &err);
    expect_ok("write pickled rows", rc, err);
    rc = lakelink_copy_write_rows(copy, "pickle", dict, (int64_t)sizeof dict - 1, &err);
    lakelink_error_free(expect_error("a pickled dict", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "pickled rows"));
    rc = lakelink_copy_write_rows(copy, "arrow", dict, (int64_t)sizeof dict - 1, &err);
    lakelink_error_free(expect_error("an unknown format", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "format"));
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    expect_ok("end", rc, err);
    CHECK(n == 3, "rows copied %lld", (long long)n);
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk WHERE id = 4000 AND s = 'pickled'", NULL) == 1, "pickled row");
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk WHERE s = E'tab\\there, newline\\nhere, backslash \\\\ here'",
                     NULL) == 1, "escaped text read back");

    rc = lakelink_copy_from(conn, "COPY capi_bulk (id) FROM STDIN", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    rc = lakelink_copy_write(copy, (const uint8_t *)"3000\n", 5, &err);
    expect_ok("write", rc, err);
    rc = lakelink_copy_end(copy, "not today", &n, &err);
    lakelink_error *e = expect_error("abort", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(e->sqlstate, "57014") == 0 && contains(e->message, "not today"), "%s %s", e->sqlstate, e->message);
    lakelink_error_free(e);
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk WHERE id = 3000", NULL) == 0, "aborted rows");

    say("COPY FROM STDIN into no table: the error comes at the end; the connection stays usable");
    rc = lakelink_copy_from(conn, "COPY no_such_table FROM STDIN", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    e = expect_error("no table", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(e->sqlstate, "42P01") == 0, "sqlstate %s", e->sqlstate);
    lakelink_error_free(e);
    CHECK(scalar_int(conn, "SELECT 7", NULL) == 7, "after a failed COPY");

    say("a COPY TO STDOUT started with lakelink_copy_from: an argument error naming the direction, no hang");
    rc = lakelink_copy_from(conn, "COPY (SELECT generate_series(1, 100000)) TO STDOUT", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    rc = lakelink_copy_write(copy, (const uint8_t *)"1\n", 2, &err);
    if (rc != LAKELINK_OK) lakelink_error_free(err); /* the error may come here already */
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    e = expect_error("a COPY TO as a COPY FROM", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "TO STDOUT");
    CHECK(contains(e->message, "FROM STDIN"), "message %s", e->message);
    lakelink_error_free(e);
    CHECK(scalar_int(conn, "SELECT 9", NULL) == 9, "after a COPY in the wrong direction");
}

static void test_copy_to(uint64_t conn) {
    say("COPY TO STDOUT: chunks of whole rows, then NULL, then the rows copied");
    uint64_t copy = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_copy_to(conn, "COPY (SELECT g, 'x' FROM generate_series(1, 50000) g) TO STDOUT", &copy, &err);
    expect_ok("lakelink_copy_to", rc, err);
    long lines = 0, chunks = 0;
    for (;;) {
        uint8_t *data = NULL;
        int64_t len = -1;
        rc = lakelink_copy_read(copy, &data, &len, &err);
        expect_ok("read", rc, err);
        if (data == NULL) {
            CHECK(len == 0, "end with length %lld", (long long)len);
            break;
        }
        CHECK(data[len - 1] == '\n', "a chunk ends inside a row");
        for (int64_t i = 0; i < len; i++) lines += data[i] == '\n';
        chunks++;
        lakelink_free(data);
    }
    int64_t n = 0;
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    expect_ok("end", rc, err);
    CHECK(n == 50000 && lines == 50000, "%lld rows, %ld lines", (long long)n, lines);
    printf("   %ld chunks\n", chunks);

    say("a COPY TO ended early, and a COPY left open ended by the next statement");
    rc = lakelink_copy_to(conn, "COPY (SELECT generate_series(1, 100000)) TO STDOUT", &copy, &err);
    expect_ok("lakelink_copy_to", rc, err);
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    expect_ok("end early", rc, err);
    CHECK(n == 100000, "rows %lld", (long long)n);
    rc = lakelink_copy_to(conn, "COPY (SELECT generate_series(1, 100000)) TO STDOUT", &copy, &err);
    expect_ok("lakelink_copy_to", rc, err);
    CHECK(scalar_int(conn, "SELECT 8", NULL) == 8, "a statement during a COPY");
    rc = lakelink_copy_end(copy, NULL, &n, &err);
    expect_ok("end after the statement", rc, err);

    say("wrong kinds of handle");
    uint8_t *data = NULL;
    int64_t len = 0;
    rc = lakelink_copy_from(conn, "COPY capi_bulk FROM STDIN", &copy, &err);
    expect_ok("lakelink_copy_from", rc, err);
    rc = lakelink_copy_read(copy, &data, &len, &err);
    lakelink_error_free(expect_error("read a COPY FROM", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL));
    rc = lakelink_copy_write(conn, (const uint8_t *)"1\n", 2, &err);
    lakelink_error_free(expect_error("write to a connection", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL));
    rc = lakelink_copy_write(copy, NULL, 5, &err);
    lakelink_error_free(expect_error("NULL data with a length", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL));
    rc = lakelink_copy_end(copy, NULL, NULL, &err);
    expect_ok("end, rows_out NULL", rc, err);
    rc = lakelink_copy_to(conn, "COPY capi_bulk TO STDOUT", NULL, &err);
    lakelink_error_free(expect_error("copy_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL));
}

/* pipeline_add appends a statement (sql, and p's parameters, or none) to a
 * pipeline's buffer (TYPES.md, "Pipelines"). */
static void pipeline_add(uint8_t *buf, size_t cap, size_t *len, const char *sql, const uint8_t *p, size_t plen) {
    size_t n = strlen(sql);
    CHECK(*len + 8 + n + plen <= cap, "pipeline buffer full");
    for (int i = 0; i < 4; i++) buf[*len + i] = (uint8_t)(n >> (8 * i));
    memcpy(buf + *len + 4, sql, n);
    *len += 4 + n;
    for (int i = 0; i < 4; i++) buf[*len + i] = (uint8_t)(plen >> (8 * i));
    if (plen) memcpy(buf + *len + 4, p, plen);
    *len += 4 + plen;
}

/* has_text tells whether the n bytes at b hold the text s. */
static int has_text(const uint8_t *b, size_t n, const char *s) {
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(b + i, s, k) == 0) return 1;
    return 0;
}

/* answer_part reads a u32-length part of an answer at *at: its bytes, its length in *n. */
static const uint8_t *answer_part(const uint8_t *b, size_t *at, size_t *n) {
    *n = rd_u32(b + *at);
    *at += 4 + *n;
    return b + *at - *n;
}

static void test_pipeline(uint64_t conn) {
    say("lakelink_query_pipeline: four statements in one call; a failing one and one with bad parameters fail alone");
    uint8_t stmts[1024];
    size_t len = 0;
    params p;
    params_init(&p);
    params_int32(&p, 41);
    pipeline_add(stmts, sizeof stmts, &len, "SELECT $1::int4 AS n", p.buf, p.len);
    pipeline_add(stmts, sizeof stmts, &len, "SELECT 1 / ($1::int - $1::int)", p.buf, p.len);
    pipeline_add(stmts, sizeof stmts, &len, "SELECT $1::int4 AS n", p.buf, p.len - 1); /* truncated */
    params_init(&p);
    params_int32(&p, 7000);
    params_text(&p, "piped");
    pipeline_add(stmts, sizeof stmts, &len, "INSERT INTO capi_bulk VALUES ($1, $2)", p.buf, p.len);
    uint8_t *answers = NULL;
    int64_t alen = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_query_pipeline(conn, stmts, (int64_t)len, 0, NULL, &answers, &alen, &err);
    expect_ok("lakelink_query_pipeline", rc, err);
    size_t at = 0, n = 0;
    /* 1: answered, one column n, one batch of one row */
    CHECK(answers[at++] == 0, "statement 1 failed");
    const uint8_t *part = answer_part(answers, &at, &n);
    CHECK(n > 0 && has_text(part, n, "\"name\":\"n\""), "columns %.*s", (int)n, (const char *)part);
    part = answer_part(answers, &at, &n);
    CHECK(n == 8 && memcmp(part, "SELECT 1", 8) == 0, "tag %.*s", (int)n, (const char *)part);
    CHECK(rd_u64(answers + at) == 1 && rd_u32(answers + at + 8) == 1, "rows affected, batches");
    at += 12;
    n = rd_u32(answers + at);
    at = (at + 4 + 7) & ~(size_t)7; /* a batch starts at a multiple of 8 */
    part = answers + at;
    at += n;
    CHECK(n >= 16 && rd_u32(part + 8) == 1, "one row in the batch");
    /* 2: the server's error */
    CHECK(answers[at++] == 1, "statement 2 did not fail");
    part = answer_part(answers, &at, &n);
    CHECK(has_text(part, n, "\"sqlstate\":\"22012\""), "error %.*s", (int)n, (const char *)part);
    /* 3: its parameters */
    CHECK(answers[at++] == 1, "statement 3 did not fail");
    part = answer_part(answers, &at, &n);
    CHECK(has_text(part, n, "\"code\":-1"), "error %.*s", (int)n, (const char *)part);
    /* 4: the INSERT, committed on its own */
    CHECK(answers[at++] == 0, "statement 4 failed");
    answer_part(answers, &at, &n);
    part = answer_part(answers, &at, &n);
    CHECK(n == 10 && memcmp(part, "INSERT 0 1", 10) == 0, "tag %.*s", (int)n, (const char *)part);
    CHECK(rd_u64(answers + at) == 1 && rd_u32(answers + at + 8) == 0, "rows affected, batches");
    at += 12;
    CHECK(at == (size_t)alen, "%zu of %lld bytes read", at, (long long)alen);
    lakelink_free(answers);
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk WHERE id = 7000", NULL) == 1, "the INSERT");

    rc = lakelink_query_pipeline(conn, stmts, 5, 0, NULL, &answers, &alen, &err);
    lakelink_error *e = expect_error("a buffer that ends inside a statement", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL);
    CHECK(contains(e->message, "pipeline statement 0"), "message %s", e->message);
    lakelink_error_free(e);
    rc = lakelink_set_autocommit(conn, 0, &err);
    expect_ok("autocommit off", rc, err);
    rc = lakelink_query_pipeline(conn, stmts, (int64_t)len, 0, NULL, &answers, &alen, &err);
    e = expect_error("in a transaction", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL);
    CHECK(contains(e->message, "autocommit"), "message %s", e->message);
    lakelink_error_free(e);
    rc = lakelink_set_autocommit(conn, 1, &err);
    expect_ok("autocommit on", rc, err);
}

static void test_pool_pipeline(const char *cs, uint64_t conn) {
    say("lakelink_pool_pipeline: a pipeline on a session the pool lends and takes back");
    uint64_t pool = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_pool_open(cs, &pool, &err);
    expect_ok("lakelink_pool_open", rc, err);
    uint8_t stmts[256];
    size_t len = 0;
    params p;
    params_init(&p);
    params_int32(&p, 7001);
    params_text(&p, "lent");
    pipeline_add(stmts, sizeof stmts, &len, "INSERT INTO capi_bulk VALUES ($1, $2)", p.buf, p.len);
    uint8_t *answers = NULL;
    int64_t alen = 0;
    rc = lakelink_pool_pipeline(pool, NULL, stmts, (int64_t)len, 0, NULL, &answers, &alen, &err);
    expect_ok("lakelink_pool_pipeline", rc, err);
    size_t at = 1, n = 0;
    CHECK(alen > 0 && answers[0] == 0, "the INSERT failed");
    answer_part(answers, &at, &n);
    const uint8_t *tag = answer_part(answers, &at, &n);
    CHECK(n == 10 && memcmp(tag, "INSERT 0 1", 10) == 0, "tag %.*s", (int)n, (const char *)tag);
    lakelink_free(answers);
    CHECK(scalar_int(conn, "SELECT count(*) FROM capi_bulk WHERE id = 7001", NULL) == 1, "the INSERT");
    char *stats = NULL;
    rc = lakelink_pool_stats(pool, &stats, &err);
    expect_ok("lakelink_pool_stats", rc, err);
    CHECK(contains(stats, "\"acquired\":0"), "the session is not back: %s", stats);
    lakelink_free(stats);

    rc = lakelink_pool_pipeline(conn, NULL, stmts, (int64_t)len, 0, NULL, &answers, &alen, &err);
    expect_error_free("a connection's handle", rc, err, LAKELINK_ERR_INVALID_HANDLE, "not a pool");
    rc = lakelink_pool_pipeline(pool, "", stmts, (int64_t)len, 0, NULL, &answers, &alen, &err);
    expect_error_free("an empty user token", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "user_token");
    rc = lakelink_pool_close(pool, &err);
    expect_ok("lakelink_pool_close", rc, err);
}

int main(void) {
    const char *cs = need_env("LAKELINK_LAKEBASE");
    uint64_t conn = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(cs, &conn, &err);
    expect_ok("lakelink_connect", rc, err);
    test_several_statements(conn);
    test_execute_many(conn);
    test_copy_from(conn);
    test_copy_to(conn);
    test_pipeline(conn);
    test_pool_pipeline(cs, conn);
    exec_ok(conn, "DROP TABLE capi_bulk");
    rc = lakelink_close(conn, &err);
    expect_ok("lakelink_close", rc, err);
    printf("PASS bulk\n");
    return 0;
}
