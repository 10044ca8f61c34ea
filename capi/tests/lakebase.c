//go:build ignore

/*
 * lakebase.c: Lakebase through the C ABI: connect, execute with and
 * without parameters, columns, batches, status, formats, transactions,
 * server errors, a discarded result, close; the credential for a driver of
 * one's own (lakelink_lakebase_credential), logged in with.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE   a Lakebase connection string (service principal, verify-full)
 *   LAKELINK_SP_ID      the service principal's client id (its Postgres user)
 *   LAKELINK_SP_SECRET  its client secret (must never come back)
 */
#include "check.h"

static uint64_t connect_or_fail(const char *conn_str) {
    uint64_t conn = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(conn_str, &conn, &err);
    expect_ok("lakelink_connect", rc, err);
    CHECK(conn != 0, "connection handle 0");
    return conn;
}

static void test_select_one(uint64_t conn) {
    say("SELECT 1: columns, one batch of one row, then NULL, then the command tag");
    uint64_t res = run(conn, "SELECT 1 AS one", NULL);
    char *cols = NULL, *tag = NULL;
    int64_t affected = -1;
    lakelink_error *err = NULL;

    int32_t rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status before reading", rc, err);
    CHECK(strcmp(tag, "") == 0 && affected == 0, "before the rows are read: tag \"%s\", rows %lld", tag,
          (long long)affected);
    lakelink_free(tag);

    rc = lakelink_result_columns(res, &cols, &err);
    expect_ok("columns", rc, err);
    printf("   columns %s\n", cols);
    CHECK(strcmp(cols, "[{\"name\":\"one\",\"type_oid\":23,\"type_name\":\"int4\"}]") == 0, "columns %s", cols);
    lakelink_free(cols);

    int64_t len = 0;
    uint8_t *batch = fetch(res, 0, &len);
    CHECK(batch != NULL, "no batch");
    CHECK(batch_rows(batch) == 1 && batch_columns(batch) == 1, "%u rows, %u columns", batch_rows(batch),
          batch_columns(batch));
    CHECK(batch_col(batch, 0).kind == KIND_INT32, "kind %d", batch_col(batch, 0).kind);
    CHECK(batch_int(batch, 0, 0) == 1, "value %lld", (long long)batch_int(batch, 0, 0));
    CHECK(!batch_is_null(batch, 0, 0), "NULL");
    lakelink_free(batch);
    CHECK(fetch(res, 0, &len) == NULL, "a second batch");
    CHECK(fetch(res, 0, &len) == NULL, "a batch after the end");

    rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "SELECT 1") == 0 && affected == 1, "tag \"%s\", rows %lld", tag, (long long)affected);
    lakelink_free(tag);
    rc = lakelink_result_status(res, NULL, NULL, &err);
    expect_ok("status, both outputs NULL", rc, err);
    close_result(res);
}

static void test_params(uint64_t conn) {
    say("encoded parameters: int8, text, NULL");
    params p;
    params_init(&p);
    params_int64(&p, 9007199254740993LL); /* 2^53 + 1: not a double */
    params_text(&p, "h\xc3\xa9llo, w\xc3\xb6rld");
    params_null(&p);
    params_int32(&p, -7);
    uint64_t res = run(conn, "SELECT $1::int8 AS big, $2::text AS greeting, $3::text AS nothing, $4::int4 + 1 AS small", &p);
    char *cols = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_columns(res, &cols, &err);
    expect_ok("columns", rc, err);
    printf("   columns %s\n", cols);
    CHECK(contains(cols, "{\"name\":\"big\",\"type_oid\":20,\"type_name\":\"int8\"}"), "big: %s", cols);
    CHECK(contains(cols, "{\"name\":\"greeting\",\"type_oid\":25,\"type_name\":\"text\"}"), "greeting: %s", cols);
    lakelink_free(cols);
    int64_t len = 0;
    uint8_t *b = fetch(res, 0, &len);
    CHECK(b != NULL && batch_rows(b) == 1 && batch_columns(b) == 4, "shape");
    CHECK(batch_col(b, 0).kind == KIND_INT64 && batch_int(b, 0, 0) == 9007199254740993LL, "int8 %lld",
          (long long)batch_int(b, 0, 0));
    char *text = batch_text(b, 1, 0);
    CHECK(strcmp(text, "h\xc3\xa9llo, w\xc3\xb6rld") == 0, "text %s", text);
    free(text);
    CHECK(batch_is_null(b, 2, 0), "$3 should be NULL");
    CHECK(!batch_is_null(b, 1, 0) && !batch_is_null(b, 0, 0), "a value is NULL");
    CHECK(batch_int(b, 3, 0) == -6, "int4 %lld", (long long)batch_int(b, 3, 0));
    lakelink_free(b);
    close_result(res);

    say("a parameter list that does not decode: LAKELINK_ERR_INVALID_ARGUMENT naming the parameter");
    params_init(&p);
    params_text(&p, "ok");
    params_text(&p, "bad \xff byte");
    uint64_t untouched = 777;
    rc = lakelink_execute(conn, "SELECT $1::text, $2::text", p.buf, (int64_t)p.len, &untouched, &err);
    lakelink_error *bad = expect_error("bad UTF-8 parameter", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "$2");
    CHECK(strcmp(bad->sqlstate, "22023") == 0, "a bad parameter value: sqlstate \"%s\", want 22023 (class 22, data)",
          bad->sqlstate);
    lakelink_error_free(bad);
    CHECK(untouched == 777, "result_out changed on failure");
    rc = lakelink_execute(conn, "SELECT 1", (const uint8_t *)"LLPX\1\0\0\0", 8, &untouched, &err);
    expect_error_free("bad magic", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "LLPB");
    rc = lakelink_execute(conn, "SELECT 1", p.buf, (int64_t)p.len - 1, &untouched, &err);
    expect_error_free("truncated parameters", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, NULL);

    say("too few parameters for the placeholders: the server's error");
    params_init(&p);
    params_int64(&p, 1);
    rc = lakelink_execute(conn, "SELECT $1::int8 + $2::int8", p.buf, (int64_t)p.len, &untouched, &err);
    CHECK(rc != LAKELINK_OK, "one parameter for two placeholders, but OK");
    check_error_shape(__FILE__, __LINE__, "parameter count", rc, err);
    printf("   %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);
}

static void test_query(uint64_t conn) {
    say("lakelink_query: columns, rows and tag in one call; a bigger result stays open");
    params p;
    params_init(&p);
    params_int64(&p, 41);
    char *cols = NULL, *tag = NULL;
    uint8_t *b = NULL;
    int64_t len = -1, affected = -1;
    uint64_t res = 777;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_query(conn, "SELECT $1::int8 + 1 AS answer", p.buf, (int64_t)p.len, 0, NULL, &cols, &b, &len,
                                &tag, &affected, &res, &err);
    expect_ok("query one row", rc, err);
    CHECK(strcmp(cols, "[{\"name\":\"answer\",\"type_oid\":20,\"type_name\":\"int8\"}]") == 0, "columns %s", cols);
    CHECK(b != NULL && batch_check(b, len) == 1 && batch_int(b, 0, 0) == 42, "the row");
    CHECK(res == 0, "a complete result left open: %llu", (unsigned long long)res);
    CHECK(strcmp(tag, "SELECT 1") == 0 && affected == 1, "tag \"%s\", rows %lld", tag, (long long)affected);
    lakelink_free(cols);
    lakelink_free(b);
    lakelink_free(tag);

    rc = lakelink_query(conn, "CREATE TEMP TABLE capi_query (g int)", NULL, 0, 0, NULL, &cols, &b, &len, &tag,
                        &affected, &res, &err);
    expect_ok("query without rows", rc, err);
    CHECK(strcmp(cols, "[]") == 0 && b == NULL && len == 0 && res == 0, "columns %s, batch %p", cols, (void *)b);
    CHECK(strcmp(tag, "CREATE TABLE") == 0, "tag \"%s\"", tag);
    lakelink_free(cols);
    lakelink_free(tag);

    rc = lakelink_query(conn, "SELECT g FROM generate_series(1, 5) AS g", NULL, 0, 3, "columnar", &cols, &b, &len,
                        &tag, &affected, &res, &err);
    expect_ok("query five rows, three at a time", rc, err);
    CHECK(batch_check(b, len) == 3 && batch_int(b, 0, 2) == 3, "first batch");
    CHECK(res != 0 && strcmp(tag, "") == 0 && affected == 0, "open result %llu, tag \"%s\"", (unsigned long long)res,
          tag);
    lakelink_free(cols);
    lakelink_free(b);
    lakelink_free(tag);
    b = fetch(res, 3, &len);
    CHECK(b != NULL && batch_rows(b) == 2 && batch_int(b, 0, 1) == 5, "second batch");
    lakelink_free(b);
    CHECK(fetch(res, 3, &len) == NULL, "a third batch");
    rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "SELECT 5") == 0 && affected == 5, "tag \"%s\"", tag);
    lakelink_free(tag);
    close_result(res);

    say("lakelink_query failures set no output");
    res = 777;
    cols = NULL;
    rc = lakelink_query(conn, "SELECT 1/0", NULL, 0, 0, NULL, &cols, &b, &len, &tag, &affected, &res, &err);
    lakelink_error *e = expect_error("division by zero", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(e->sqlstate, "22012") == 0, "sqlstate %s", e->sqlstate);
    lakelink_error_free(e);
    CHECK(res == 777 && cols == NULL, "outputs set on failure");
    rc = lakelink_query(conn, "SELECT 1", NULL, 0, 0, "arrow", &cols, &b, &len, &tag, &affected, &res, &err);
    expect_error_free("unknown format", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "format arrow");
    rc = lakelink_query(conn, "SELECT 1", NULL, 0, 0, NULL, &cols, &b, &len, NULL, &affected, &res, &err);
    expect_error_free("NULL command_tag_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "command_tag_out");
    CHECK(scalar_int(conn, "SELECT 7", NULL) == 7, "the connection after failed queries");
}

static void test_batches(uint64_t conn) {
    say("2500 rows in batches of 1000: 1000, 1000, 500, then NULL; values and tag");
    uint64_t res = run(conn, "SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 2500) AS g", NULL);
    uint32_t sizes[8], batches = 0, total = 0;
    int64_t sum = 0, len = 0;
    uint8_t *b;
    while ((b = fetch(res, 1000, &len)) != NULL) {
        CHECK(batches < 8, "too many batches");
        uint32_t n = batch_rows(b);
        sizes[batches++] = n;
        for (uint32_t i = 0; i < n; i++) {
            int64_t v = batch_int(b, 0, i);
            CHECK(v == (int64_t)(total + i + 1), "row %u: %lld", total + i, (long long)v);
            sum += v;
        }
        char *last = batch_text(b, 1, n - 1);
        char want[32];
        snprintf(want, sizeof want, "row %u", total + n);
        CHECK(strcmp(last, want) == 0, "label %s, want %s", last, want);
        free(last);
        total += n;
        lakelink_free(b);
    }
    CHECK(batches == 3 && sizes[0] == 1000 && sizes[1] == 1000 && sizes[2] == 500, "%u batches", batches);
    CHECK(total == 2500 && sum == 2500LL * 2501 / 2, "%u rows, sum %lld", total, (long long)sum);
    char *tag = NULL;
    int64_t affected = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "SELECT 2500") == 0 && affected == 2500, "tag %s, %lld", tag, (long long)affected);
    lakelink_free(tag);
    close_result(res);

    say("max_rows <= 0 means 1000");
    res = run(conn, "SELECT g FROM generate_series(1, 1500) AS g", NULL);
    b = fetch(res, -5, &len);
    CHECK(b != NULL && batch_rows(b) == 1000, "first batch %u rows", b ? batch_rows(b) : 0);
    lakelink_free(b);
    close_result(res); /* 500 rows not read: discarded */

    say("a statement without rows: columns [], no batch, tag and rows affected");
    res = run(conn, "SET application_name = 'lakelink-capi-test'", NULL);
    char *cols = NULL;
    rc = lakelink_result_columns(res, &cols, &err);
    expect_ok("columns", rc, err);
    CHECK(strcmp(cols, "[]") == 0, "columns %s", cols);
    lakelink_free(cols);
    CHECK(fetch(res, 0, &len) == NULL, "a batch for SET");
    rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "SET") == 0 && affected == 0, "tag %s", tag);
    lakelink_free(tag);
    close_result(res);

    say("a query with no rows: one column, no batch, SELECT 0");
    res = run(conn, "SELECT 1 AS x WHERE false", NULL);
    CHECK(fetch(res, 0, &len) == NULL, "a batch of no rows");
    rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("status", rc, err);
    CHECK(strcmp(tag, "SELECT 0") == 0 && affected == 0, "tag %s", tag);
    lakelink_free(tag);
    close_result(res);
}

static void test_formats(uint64_t conn) {
    say("format \"pickle\": a protocol-4 pickle");
    uint64_t res = run(conn, "SELECT 42 AS answer, 'x' AS s", NULL);
    uint8_t *b = NULL;
    int64_t len = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_next_batch(res, 0, "pickle", &b, &len, &err);
    expect_ok("pickle batch", rc, err);
    CHECK(b != NULL && len > 4, "no pickle");
    CHECK(b[0] == 0x80 && b[1] == 4, "not PROTO 4: %02x %02x", b[0], b[1]);
    CHECK(b[len - 1] == '.', "does not end with STOP");
    lakelink_free(b);
    b = NULL;
    rc = lakelink_result_next_batch(res, 0, "pickle", &b, &len, &err);
    expect_ok("pickle end", rc, err);
    CHECK(b == NULL && len == 0, "a second pickle batch");
    close_result(res);

    say("format \"columnar\" by name");
    res = run(conn, "SELECT 7 AS seven", NULL);
    rc = lakelink_result_next_batch(res, 0, "columnar", &b, &len, &err);
    expect_ok("columnar batch", rc, err);
    CHECK(batch_check(b, len) == 1 && batch_int(b, 0, 0) == 7, "columnar by name");
    lakelink_free(b);

    say("an unknown format: LAKELINK_ERR_INVALID_ARGUMENT naming it, the result still readable");
    close_result(res);
    res = run(conn, "SELECT 8 AS eight", NULL);
    uint8_t *untouched = (uint8_t *)"untouched";
    b = untouched;
    len = 1234;
    rc = lakelink_result_next_batch(res, 0, "arrow", &b, &len, &err);
    expect_error_free("unknown format", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "arrow");
    CHECK(b == untouched && len == 1234, "outputs changed on failure");
    b = fetch(res, 0, &len);
    CHECK(b != NULL && batch_int(b, 0, 0) == 8, "the rows were lost to a refused format");
    lakelink_free(b);
    close_result(res);
}

static int64_t count_rows(uint64_t conn) { return scalar_int(conn, "SELECT count(*) FROM capi_tx", NULL); }

static void insert(uint64_t conn, int64_t id) {
    params p;
    params_init(&p);
    params_int64(&p, id);
    uint64_t res = run(conn, "INSERT INTO capi_tx VALUES ($1)", &p);
    char *tag = NULL;
    int64_t affected = 0;
    lakelink_error *err = NULL;
    int64_t len = 0;
    CHECK(fetch(res, 0, &len) == NULL, "INSERT returned rows");
    int32_t rc = lakelink_result_status(res, &tag, &affected, &err);
    expect_ok("INSERT status", rc, err);
    CHECK(strcmp(tag, "INSERT 0 1") == 0 && affected == 1, "tag %s, %lld", tag, (long long)affected);
    lakelink_free(tag);
    close_result(res);
}

static void call_ok(const char *what, int32_t (*f)(uint64_t, lakelink_error **), uint64_t conn) {
    lakelink_error *err = NULL;
    int32_t rc = f(conn, &err);
    expect_ok(what, rc, err);
}

static void test_transactions(uint64_t conn) {
    lakelink_error *err = NULL;
    say("transactions on a temporary table");
    close_result(run(conn, "CREATE TEMP TABLE capi_tx (id int8)", NULL));

    say("autocommit on (the default): begin, insert, rollback: gone");
    call_ok("begin", lakelink_begin, conn);
    insert(conn, 1);
    CHECK(count_rows(conn) == 1, "the insert is not visible inside its transaction");
    int32_t rc = lakelink_begin(conn, &err);
    CHECK(rc != LAKELINK_OK, "begin inside a transaction succeeded");
    check_error_shape(__FILE__, __LINE__, "nested begin", rc, err);
    printf("   nested begin: %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);
    call_ok("rollback", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 0, "rolled back, but %lld rows", (long long)count_rows(conn));

    say("autocommit on: begin, insert, commit: kept");
    call_ok("begin", lakelink_begin, conn);
    insert(conn, 2);
    call_ok("commit", lakelink_commit, conn);
    CHECK(count_rows(conn) == 1, "committed, but %lld rows", (long long)count_rows(conn));

    say("autocommit on: a plain insert commits on its own (a rollback after it changes nothing)");
    insert(conn, 3);
    call_ok("rollback without a transaction", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 2, "%lld rows", (long long)count_rows(conn));

    say("autocommit off: statements open a transaction; rollback undoes them");
    rc = lakelink_set_autocommit(conn, 0, &err);
    expect_ok("autocommit off", rc, err);
    insert(conn, 4);
    insert(conn, 5);
    CHECK(count_rows(conn) == 4, "%lld rows inside the transaction", (long long)count_rows(conn));
    call_ok("rollback", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 2, "rolled back, but %lld rows", (long long)count_rows(conn));
    call_ok("rollback (the count opened one)", lakelink_rollback, conn);

    say("autocommit off: commit keeps them");
    insert(conn, 6);
    call_ok("commit", lakelink_commit, conn);
    call_ok("rollback", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 3, "committed, but %lld rows", (long long)count_rows(conn));
    call_ok("commit", lakelink_commit, conn);

    say("autocommit off: a server error aborts the transaction; rollback recovers");
    insert(conn, 7);
    uint64_t res = 0;
    rc = lakelink_execute(conn, "SELECT 1/0", NULL, 0, &res, &err);
    if (rc == LAKELINK_OK) { /* the error may come with the rows */
        uint8_t *b = NULL;
        int64_t len = 0;
        rc = lakelink_result_next_batch(res, 0, NULL, &b, &len, &err);
        lakelink_error *e2 = NULL;
        lakelink_result_close(res, &e2);
        lakelink_error_free(e2);
    }
    err = expect_error("division by zero", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(err->sqlstate, "22012") == 0, "sqlstate %s", err->sqlstate);
    lakelink_error_free(err);
    rc = lakelink_execute(conn, "SELECT 1", NULL, 0, &res, &err);
    err = expect_error("in an aborted transaction", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(err->sqlstate, "25P02") == 0, "sqlstate %s", err->sqlstate);
    lakelink_error_free(err);
    call_ok("rollback", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 3, "the failed transaction's insert survived: %lld", (long long)count_rows(conn));
    call_ok("commit", lakelink_commit, conn);

    rc = lakelink_set_autocommit(conn, 1, &err);
    expect_ok("autocommit on", rc, err);
    insert(conn, 8);
    call_ok("rollback", lakelink_rollback, conn);
    CHECK(count_rows(conn) == 4, "autocommit on again, but %lld rows", (long long)count_rows(conn));
}

static void test_server_error(uint64_t conn, const char *secret) {
    say("a syntax error: LAKELINK_ERR_DATABASE, SQLSTATE 42601, the connection usable afterwards");
    uint64_t res = 999;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_execute(conn, "SELEC 1", NULL, 0, &res, &err);
    err = expect_error("syntax error", rc, err, LAKELINK_ERR_DATABASE, "syntax error");
    CHECK(strcmp(err->sqlstate, "42601") == 0, "sqlstate \"%s\"", err->sqlstate);
    CHECK(res == 999, "result_out changed on failure");
    CHECK(!contains(err->message, secret), "the secret is in the message");
    lakelink_error_free(err);

    say("an unknown table: SQLSTATE 42P01");
    rc = lakelink_execute(conn, "SELECT * FROM no_such_table_here", NULL, 0, &res, &err);
    err = expect_error("unknown table", rc, err, LAKELINK_ERR_DATABASE, "no_such_table_here");
    CHECK(strcmp(err->sqlstate, "42P01") == 0, "sqlstate \"%s\"", err->sqlstate);
    CHECK(err->detail != NULL && err->detail[0] == '\0' && err->hint != NULL, "detail \"%s\" without a DETAIL",
          err->detail ? err->detail : "(NULL)");
    lakelink_error_free(err);

    say("a unique violation: SQLSTATE 23505, the server's DETAIL and HINT in fields of their own");
    close_result(run(conn, "CREATE TEMP TABLE capi_uniq (id int PRIMARY KEY)", NULL));
    close_result(run(conn, "INSERT INTO capi_uniq VALUES (1)", NULL));
    char *cols = NULL, *tag = NULL;
    uint8_t *batch = NULL;
    int64_t len = 0, affected = 0;
    rc = lakelink_query(conn, "INSERT INTO capi_uniq VALUES (1)", NULL, 0, 0, NULL, &cols, &batch, &len, &tag, &affected,
                        &res, &err);
    err = expect_error("unique violation", rc, err, LAKELINK_ERR_DATABASE, "duplicate key");
    CHECK(strcmp(err->sqlstate, "23505") == 0, "sqlstate \"%s\"", err->sqlstate);
    CHECK(err->detail != NULL && strcmp(err->detail, "Key (id)=(1) already exists.") == 0, "detail \"%s\"",
          err->detail ? err->detail : "(NULL)");
    CHECK(err->hint != NULL && err->hint[0] == '\0' && utf8_valid(err->detail), "hint \"%s\"", err->hint ? err->hint : "(NULL)");
    lakelink_error_free(err);

    say("a server HINT: an unknown function's");
    rc = lakelink_query(conn, "SELECT no_such_function_here(1)", NULL, 0, 0, NULL, &cols, &batch, &len, &tag, &affected,
                        &res, &err);
    err = expect_error("unknown function", rc, err, LAKELINK_ERR_DATABASE, "no_such_function_here");
    CHECK(strcmp(err->sqlstate, "42883") == 0, "sqlstate \"%s\"", err->sqlstate);
    CHECK(contains(err->hint, "explicit type casts"), "hint \"%s\"", err->hint);
    lakelink_error_free(err);
    CHECK(cols == NULL && batch == NULL && tag == NULL, "lakelink_query set outputs on failure");
    CHECK(scalar_int(conn, "SELECT 41 + 1", NULL) == 42, "the connection is not usable after errors");
}

static void test_discard(uint64_t conn) {
    say("a new statement discards an unread result: its next_batch then fails, its close succeeds");
    uint64_t first = run(conn, "SELECT g FROM generate_series(1, 10) AS g", NULL);
    uint64_t second = run(conn, "SELECT 2 AS two", NULL);
    uint8_t *b = NULL;
    int64_t len = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_next_batch(first, 0, NULL, &b, &len, &err);
    expect_error_free("discarded result", rc, err, LAKELINK_ERR_DATABASE, "discarded");
    CHECK(b == NULL, "a batch from a discarded result");
    b = fetch(second, 0, &len);
    CHECK(b != NULL && batch_int(b, 0, 0) == 2, "the second result");
    lakelink_free(b);
    close_result(first);
    close_result(second);
}

static void test_connect_errors(const char *lakebase, const char *secret) {
    say("connect with a wrong client secret: an error, the secret not shown");
    char *bad = malloc(strlen(lakebase) + 64);
    CHECK(bad != NULL, "out of memory");
    /* A later key may not repeat an earlier one: rebuild without the secret. */
    const char *s = strstr(lakebase, "OAuthClientSecret=");
    CHECK(s != NULL, "no secret in LAKELINK_LAKEBASE");
    size_t pre = (size_t)(s - lakebase);
    const char *after = strchr(s, ';');
    sprintf(bad, "%.*sOAuthClientSecret=wrong-secret-xyz-123%s", (int)pre, lakebase, after ? after : "");
    uint64_t conn = 5;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(bad, &conn, &err);
    CHECK(rc == LAKELINK_ERR_AUTH || rc == LAKELINK_ERR_DATABASE, "status %s", status_name(rc));
    check_error_shape(__FILE__, __LINE__, "wrong secret", rc, err);
    printf("   %s: %s\n", status_name(rc), err->message);
    CHECK(!contains(err->message, "wrong-secret-xyz-123") && !contains(err->message, secret), "a secret in %s",
          err->message);
    CHECK(conn == 5, "conn_out changed on failure");
    lakelink_error_free(err);
    free(bad);

    say("connect with a connection string that does not parse: LAKELINK_ERR_CONNECTION_STRING");
    rc = lakelink_connect("Server=127.0.0.1;Port=notaport", &conn, &err);
    expect_error_free("bad port", rc, err, LAKELINK_ERR_CONNECTION_STRING, "Port");
}

/* credential_or_fail: lakelink_lakebase_credential's JSON for conn_str. */
static char *credential_or_fail(const char *conn_str) {
    char *json = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_lakebase_credential(conn_str, &json, &err);
    expect_ok("lakelink_lakebase_credential", rc, err);
    CHECK(json != NULL, "no JSON");
    return json;
}

static void test_credential(const char *lakebase, const char *sp_id, const char *secret) {
    say("lakebase_credential: the login for a driver of one's own, cached, good for a login");
    char *json = credential_or_fail(lakebase);
    char *user = json_string(json, "user"), *password = json_string(json, "password"),
         *sslmode = json_string(json, "sslmode"), *rootcert = json_string(json, "sslrootcert"),
         *expires = json_string(json, "expires_at"), *host = json_string(json, "host"),
         *database = json_string(json, "database");
    CHECK(user && strcmp(user, sp_id) == 0, "user %s, want %s", user, sp_id);
    CHECK(password && *password && strcmp(password, secret) != 0, "password empty or the client secret");
    CHECK(sslmode && strcmp(sslmode, "verify-full") == 0, "sslmode %s", sslmode);
    const char *ca = strstr(lakebase, "SSLServerCert=");
    CHECK(ca && rootcert && strncmp(ca + strlen("SSLServerCert="), rootcert, strlen(rootcert)) == 0,
          "sslrootcert %s, not SSLServerCert's file", rootcert);
    /* RFC 3339 in UTC to the second: 2026-12-07T03:00:00Z */
    CHECK(expires && strlen(expires) == 20 && expires[10] == 'T' && expires[19] == 'Z', "expires_at %s", expires);
    CHECK(json_int(json, "port") > 0 && !contains(json, secret), "port, or the client secret in the answer");

    char *again = credential_or_fail(lakebase);
    char *password2 = json_string(again, "password");
    CHECK(strcmp(password, password2) == 0, "a second call minted another credential instead of reusing it");
    lakelink_free(again);
    free(password2);

    /* AuthScheme=Password logs in with the password as given: the credential works. */
    char *direct = malloc(strlen(host) + strlen(database) + strlen(user) + strlen(password) + strlen(rootcert) + 256);
    CHECK(direct != NULL, "out of memory");
    sprintf(direct, "AuthScheme=Password;Server=%s;Port=%lld;Database=%s;User=%s;Password=%s;SSLMode=verify-full;SSLServerCert=%s",
            host, json_int(json, "port"), database, user, password, rootcert);
    uint64_t conn = connect_or_fail(direct);
    int64_t one = scalar_int(conn, "SELECT 1", NULL);
    CHECK(one == 1, "SELECT 1 gave %lld", (long long)one);
    lakelink_error *err = NULL;
    int32_t rc = lakelink_close(conn, &err);
    expect_ok("close", rc, err);
    free(direct);

    say("lakebase_credential: NULL arguments, a bad connection string");
    rc = lakelink_lakebase_credential(lakebase, NULL, &err);
    expect_error_free("NULL json_out", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "json_out");
    char *out = (char *)"untouched";
    rc = lakelink_lakebase_credential(NULL, &out, &err);
    expect_error_free("NULL conn_str", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "conn_str");
    rc = lakelink_lakebase_credential("Server=127.0.0.1;Port=notaport", &out, &err);
    expect_error_free("bad port", rc, err, LAKELINK_ERR_CONNECTION_STRING, "Port");

    free(user);
    free(password);
    free(sslmode);
    free(rootcert);
    free(expires);
    free(host);
    free(database);
    lakelink_free(json);
}

int main(void) {
    const char *lakebase = need_env("LAKELINK_LAKEBASE");
    const char *sp_id = need_env("LAKELINK_SP_ID");
    const char *secret = need_env("LAKELINK_SP_SECRET");

    say("connect");
    uint64_t conn = connect_or_fail(lakebase);
    uint64_t res = run(conn, "SELECT current_user::text", NULL);
    int64_t len = 0;
    uint8_t *b = fetch(res, 0, &len);
    char *user = batch_text(b, 0, 0);
    CHECK(strcmp(user, sp_id) == 0, "current_user %s, want %s", user, sp_id);
    printf("   connected as %s\n", user);
    free(user);
    lakelink_free(b);
    close_result(res);

    test_select_one(conn);
    test_params(conn);
    test_query(conn);
    test_batches(conn);
    test_formats(conn);
    test_server_error(conn, secret);
    test_discard(conn);
    test_transactions(conn);
    test_connect_errors(lakebase, secret);
    test_credential(lakebase, sp_id, secret);

    say("a second connection is a different session");
    uint64_t other = connect_or_fail(lakebase);
    CHECK(other != conn, "the same handle twice");
    int64_t pid1 = scalar_int(conn, "SELECT pg_backend_pid()", NULL);
    int64_t pid2 = scalar_int(other, "SELECT pg_backend_pid()", NULL);
    CHECK(pid1 != pid2, "both handles on backend %lld", (long long)pid1);

    say("close: results left open are discarded, the handle is invalid afterwards");
    uint64_t open_res = run(conn, "SELECT g FROM generate_series(1, 5) AS g", NULL);
    lakelink_error *err = NULL;
    int32_t rc = lakelink_close(conn, &err);
    expect_ok("close", rc, err);
    rc = lakelink_execute(conn, "SELECT 1", NULL, 0, &res, &err);
    expect_error_free("execute after close", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);
    rc = lakelink_result_next_batch(open_res, 0, NULL, &b, &len, &err);
    CHECK(rc != LAKELINK_OK, "a result of a closed connection still reads");
    check_error_shape(__FILE__, __LINE__, "result after close", rc, err);
    printf("   result after its connection closed: %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);
    close_result(open_res);
    rc = lakelink_close(other, &err);
    expect_ok("close the second", rc, err);

    say("a new connection after closing: a session of its own");
    conn = connect_or_fail(lakebase);
    CHECK(scalar_int(conn, "SELECT 5", NULL) == 5, "after reconnect");
    rc = lakelink_close(conn, &err);
    expect_ok("close", rc, err);

    printf("PASS lakebase\n");
    return 0;
}
