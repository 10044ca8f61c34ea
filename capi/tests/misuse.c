//go:build ignore

/*
 * misuse.c: everything a careless caller can do wrong gets a clean error
 * code, never a crash: NULL pointers, handle 0, random handles, handles
 * of the wrong kind, use after close, double close, negative lengths, a
 * NULL buffer with a length, invalid UTF-8, huge inputs, and a NULL error
 * out-parameter.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_SP        the service principal's M2M connection string
 *   LAKELINK_LAKEBASE  a Lakebase connection string
 *   LAKELINK_APP_URL   the app's URL
 */
#include "check.h"

static const char *sp, *lakebase, *app;

/* NULL for a required pointer: LAKELINK_ERR_INVALID_ARGUMENT naming it. */
#define EXPECT_ARG(what, call, name)                                                                                   \
    do {                                                                                                               \
        lakelink_error *err_ = NULL;                                                                                   \
        int32_t rc_ = (call);                                                                                          \
        expect_error_free(what, rc_, err_, LAKELINK_ERR_INVALID_ARGUMENT, name);                                       \
    } while (0)

/* A bad handle: LAKELINK_ERR_INVALID_HANDLE. */
#define EXPECT_HANDLE(what, call)                                                                                      \
    do {                                                                                                               \
        lakelink_error *err_ = NULL;                                                                                   \
        int32_t rc_ = (call);                                                                                          \
        lakelink_error_free(expect_error_at(__FILE__, __LINE__, what, rc_, err_, LAKELINK_ERR_INVALID_HANDLE, NULL));  \
    } while (0)

static void test_null_pointers(uint64_t conn) {
    char *s = NULL;
    uint8_t *b = NULL;
    int64_t n = 0;
    int32_t status = 0;
    uint64_t h = 0;

    say("NULL for every required pointer");
    EXPECT_ARG("normalize conn_str", lakelink_connstr_normalize(NULL, &s, &err_), "conn_str");
    EXPECT_ARG("normalize json_out", lakelink_connstr_normalize(sp, NULL, &err_), "json_out");
    EXPECT_ARG("token conn_str", lakelink_token(NULL, &s, &n, &err_), "conn_str");
    EXPECT_ARG("token token_out", lakelink_token(sp, NULL, &n, &err_), "token_out");

    char url[2048];
    snprintf(url, sizeof url, "%s/api/whoami", app);
    EXPECT_ARG("app conn_str", lakelink_app_request(NULL, app, "GET", url, NULL, NULL, 0, &status, &s, &b, &n, &err_), "conn_str");
    EXPECT_ARG("app app_url", lakelink_app_request(sp, NULL, "GET", url, NULL, NULL, 0, &status, &s, &b, &n, &err_), "app_url");
    EXPECT_ARG("app method", lakelink_app_request(sp, app, NULL, url, NULL, NULL, 0, &status, &s, &b, &n, &err_), "method");
    EXPECT_ARG("app url", lakelink_app_request(sp, app, "GET", NULL, NULL, NULL, 0, &status, &s, &b, &n, &err_), "url");
    EXPECT_ARG("app status_out", lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, NULL, &s, &b, &n, &err_), "status_out");
    EXPECT_ARG("app headers_out", lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, &status, NULL, &b, &n, &err_),
               "headers_out");
    EXPECT_ARG("app body_out", lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, &status, &s, NULL, &n, &err_), "body_out");
    EXPECT_ARG("app body_len_out", lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, &status, &s, &b, NULL, &err_),
               "body_len_out");
    EXPECT_ARG("app every output", lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, NULL, NULL, NULL, NULL, &err_),
               "status_out");
    EXPECT_ARG("app body negative", lakelink_app_request(sp, app, "POST", url, NULL, (const uint8_t *)"x", -1, &status, &s, &b, &n, &err_),
               "negative length");
    EXPECT_ARG("app body NULL with a length",
               lakelink_app_request(sp, app, "POST", url, NULL, NULL, 5, &status, &s, &b, &n, &err_), "NULL with length 5");

    EXPECT_ARG("authorization_url conn_str", lakelink_oauth_authorization_url(NULL, NULL, NULL, NULL, &s, &err_), "conn_str");
    EXPECT_ARG("authorization_url json_out", lakelink_oauth_authorization_url(sp, NULL, NULL, NULL, NULL, &err_), "json_out");
    EXPECT_ARG("access_token conn_str", lakelink_oauth_access_token(NULL, "c", "WEB", NULL, NULL, "v", &s, &err_), "conn_str");
    EXPECT_ARG("access_token json_out", lakelink_oauth_access_token(sp, "c", "WEB", NULL, NULL, "v", NULL, &err_), "json_out");
    EXPECT_ARG("refresh conn_str", lakelink_oauth_refresh(NULL, "r", &s, &err_), "conn_str");
    EXPECT_ARG("refresh json_out", lakelink_oauth_refresh(sp, "r", NULL, &err_), "json_out");

    EXPECT_ARG("connect conn_str", lakelink_connect(NULL, &h, &err_), "conn_str");
    EXPECT_ARG("connect conn_out", lakelink_connect(lakebase, NULL, &err_), "conn_out");
    EXPECT_ARG("execute sql", lakelink_execute(conn, NULL, NULL, 0, &h, &err_), "sql");
    EXPECT_ARG("execute result_out", lakelink_execute(conn, "SELECT 1", NULL, 0, NULL, &err_), "result_out");
    EXPECT_ARG("execute negative params_len", lakelink_execute(conn, "SELECT 1", (const uint8_t *)"LLPB", -1, &h, &err_),
               "negative length");
    EXPECT_ARG("execute NULL params with a length", lakelink_execute(conn, "SELECT 1", NULL, 8, &h, &err_),
               "NULL with length 8");
    EXPECT_ARG("execute huge negative params_len",
               lakelink_execute(conn, "SELECT 1", (const uint8_t *)"LLPB", INT64_MIN, &h, &err_), "negative length");

    uint64_t res = run(conn, "SELECT 1 AS one", NULL);
    EXPECT_ARG("columns json_out", lakelink_result_columns(res, NULL, &err_), "json_out");
    EXPECT_ARG("next_batch batch_out", lakelink_result_next_batch(res, 0, NULL, NULL, &n, &err_), "batch_out");
    EXPECT_ARG("next_batch len_out", lakelink_result_next_batch(res, 0, NULL, &b, NULL, &err_), "len_out");
    /* None of that consumed the row. */
    b = fetch(res, 0, &n);
    CHECK(b != NULL && batch_int(b, 0, 0) == 1, "the row was lost to a refused call");
    lakelink_free(b);
    close_result(res);

    say("NULL where the header allows it: lakelink_free, lakelink_error_free, result_status outputs");
    lakelink_free(NULL);
    lakelink_error_free(NULL);
    res = run(conn, "SELECT 1", NULL);
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_status(res, NULL, NULL, &err);
    expect_ok("status with NULL outputs", rc, err);
    close_result(res);
}

/* every_handle_call calls every function that takes a handle with h,
 * which must be refused as a bad handle of either kind. */
static void every_handle_call(const char *what, uint64_t h, int as_conn, int as_result) {
    char *s = NULL;
    uint8_t *b = NULL;
    int64_t n = 0;
    uint64_t out = 0;
    char label[256];
    if (as_conn) {
        snprintf(label, sizeof label, "%s: execute", what);
        EXPECT_HANDLE(label, lakelink_execute(h, "SELECT 1", NULL, 0, &out, &err_));
        snprintf(label, sizeof label, "%s: set_autocommit", what);
        EXPECT_HANDLE(label, lakelink_set_autocommit(h, 0, &err_));
        snprintf(label, sizeof label, "%s: begin", what);
        EXPECT_HANDLE(label, lakelink_begin(h, &err_));
        snprintf(label, sizeof label, "%s: commit", what);
        EXPECT_HANDLE(label, lakelink_commit(h, &err_));
        snprintf(label, sizeof label, "%s: rollback", what);
        EXPECT_HANDLE(label, lakelink_rollback(h, &err_));
        snprintf(label, sizeof label, "%s: cancel", what);
        EXPECT_HANDLE(label, lakelink_cancel(h, &err_));
        snprintf(label, sizeof label, "%s: close", what);
        EXPECT_HANDLE(label, lakelink_close(h, &err_));
        snprintf(label, sizeof label, "%s: discard", what);
        EXPECT_HANDLE(label, lakelink_discard(h, &err_));
        int32_t idle = 7;
        snprintf(label, sizeof label, "%s: session_idle", what);
        EXPECT_HANDLE(label, lakelink_session_idle(h, &idle, &err_));
        CHECK(idle == 7, "%s: idle_out set on failure", label);
    }
    if (as_result) {
        snprintf(label, sizeof label, "%s: result_columns", what);
        EXPECT_HANDLE(label, lakelink_result_columns(h, &s, &err_));
        snprintf(label, sizeof label, "%s: result_next_batch", what);
        EXPECT_HANDLE(label, lakelink_result_next_batch(h, 0, NULL, &b, &n, &err_));
        snprintf(label, sizeof label, "%s: result_status", what);
        EXPECT_HANDLE(label, lakelink_result_status(h, &s, &n, &err_));
        snprintf(label, sizeof label, "%s: result_close", what);
        EXPECT_HANDLE(label, lakelink_result_close(h, &err_));
    }
    CHECK(s == NULL && b == NULL && n == 0 && out == 0, "%s: an output was set", what);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static void test_handles(void) {
    say("handle 0 everywhere");
    every_handle_call("handle 0", 0, 1, 1);

    say("random handles (quietly: 2000 of them, and the extremes)");
    every_handle_call("UINT64_MAX", UINT64_MAX, 1, 1);
    every_handle_call("1", 1, 1, 1);
    rng_state ^= (uint64_t)time(NULL);
    for (int i = 0; i < 2000; i++) {
        uint64_t h = rnd();
        lakelink_error *err = NULL;
        uint64_t out = 0;
        uint8_t *b = NULL;
        int64_t n = 0;
        int32_t rc = lakelink_execute(h, "SELECT 1", NULL, 0, &out, &err);
        CHECK(rc == LAKELINK_ERR_INVALID_HANDLE && err != NULL && err->code == rc, "random handle %llu: %s",
              (unsigned long long)h, status_name(rc));
        lakelink_error_free(err);
        rc = lakelink_result_next_batch(h, 0, NULL, &b, &n, &err);
        CHECK(rc == LAKELINK_ERR_INVALID_HANDLE, "random handle %llu: %s", (unsigned long long)h, status_name(rc));
        lakelink_error_free(err);
        rc = lakelink_close(h, NULL);
        CHECK(rc == LAKELINK_ERR_INVALID_HANDLE, "random handle %llu: close %s", (unsigned long long)h, status_name(rc));
        rc = lakelink_result_close(h, NULL);
        CHECK(rc == LAKELINK_ERR_INVALID_HANDLE, "random handle %llu: result_close %s", (unsigned long long)h,
              status_name(rc));
    }
    printf("   ok, 2000 random handles refused\n");
}

static void test_wrong_kind_and_close(void) {
    uint64_t conn = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(lakebase, &conn, &err);
    expect_ok("connect", rc, err);
    uint64_t res = run(conn, "SELECT 5 AS five", NULL);

    say("a result handle passed as a connection, and a connection handle as a result");
    every_handle_call("result as connection", res, 1, 0);
    every_handle_call("connection as result", conn, 0, 1);
    rc = lakelink_close(res, &err);
    err = expect_error("close(result)", rc, err, LAKELINK_ERR_INVALID_HANDLE, "not a connection");
    lakelink_error_free(err);
    rc = lakelink_result_close(conn, &err);
    err = expect_error("result_close(connection)", rc, err, LAKELINK_ERR_INVALID_HANDLE, "not a result");
    lakelink_error_free(err);

    say("both still work after being misused");
    int64_t n = 0;
    uint8_t *b = fetch(res, 0, &n);
    CHECK(b != NULL && batch_int(b, 0, 0) == 5, "the result was harmed");
    lakelink_free(b);
    close_result(res);
    CHECK(scalar_int(conn, "SELECT 6", NULL) == 6, "the connection was harmed");

    say("a result used after close, closed twice");
    res = run(conn, "SELECT 7", NULL);
    close_result(res);
    every_handle_call("closed result", res, 0, 1);

    say("a connection used after close, closed twice; its result too");
    uint64_t orphan = run(conn, "SELECT 8", NULL);
    rc = lakelink_close(conn, &err);
    expect_ok("close", rc, err);
    every_handle_call("closed connection", conn, 1, 0);
    rc = lakelink_result_next_batch(orphan, 0, NULL, &b, &n, &err);
    CHECK(rc != LAKELINK_OK, "the result of a closed connection still reads");
    check_error_shape(__FILE__, __LINE__, "orphan result", rc, err);
    lakelink_error_free(err);
    close_result(orphan);
    every_handle_call("closed orphan result", orphan, 0, 1);
}

static void test_utf8(uint64_t conn) {
    say("invalid UTF-8 in connection strings: LAKELINK_ERR_INVALID_ARGUMENT, the bytes not shown");
    const char *bad[] = {
        "Host=https://\xff\xfe.cloud.databricks.com",
        "\xff\xfe=1",
        "Host=https://x.cloud.databricks.com;OAuthClientSecret=\xc3\x28\xff",
        "Host=https://x.cloud.databricks.com;OAuthClientId=\xed\xa0\x80", /* a surrogate */
        "Ho\xc0\xafst=x",                                                  /* an overlong '/' */
        "Host=https://x.cloud.databricks.com;OAuthClientId=abc\xe2\x82",   /* cut short at the end */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *json = (char *)"untouched";
        lakelink_error *err = NULL;
        int32_t rc = lakelink_connstr_normalize(bad[i], &json, &err);
        err = expect_error("invalid UTF-8 connection string", rc, err, LAKELINK_ERR_INVALID_ARGUMENT,
                           "conn_str is not valid UTF-8");
        CHECK(strcmp(json, "untouched") == 0, "json_out changed on failure");
        lakelink_error_free(err);
    }
    uint64_t h = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(bad[2], &h, &err);
    expect_error_free("connect, invalid UTF-8", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "conn_str is not valid UTF-8");
    char *s = NULL;
    rc = lakelink_token(bad[3], &s, NULL, &err);
    expect_error_free("token, invalid UTF-8", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "conn_str is not valid UTF-8");

    say("invalid UTF-8 in SQL: LAKELINK_ERR_INVALID_ARGUMENT before anything is sent");
    uint64_t res = 0;
    rc = lakelink_execute(conn, "SELECT '\xff\xfe' AS bad", NULL, 0, &res, &err);
    expect_error_free("invalid UTF-8 SQL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "sql is not valid UTF-8 (byte 0xff at offset 8)");
    CHECK(scalar_int(conn, "SELECT 9", NULL) == 9, "the connection is not usable afterwards");

    say("invalid UTF-8 in the other string parameters");
    int32_t status = 0;
    uint8_t *b = NULL;
    int64_t n = 0;
    char url[2048];
    snprintf(url, sizeof url, "%s/api/\xff", app);
    rc = lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, &status, &s, &b, &n, &err);
    expect_error_free("app url", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "url is not valid UTF-8");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    rc = lakelink_app_request(sp, app, "G\xffT", url, NULL, NULL, 0, &status, &s, &b, &n, &err);
    expect_error_free("app method", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "method is not valid UTF-8");
    rc = lakelink_app_request(sp, app, "GET", url, "{\"X-A\": \"\xff\"}", NULL, 0, &status, &s, &b, &n, &err);
    expect_error_free("app headers_json", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "headers_json is not valid UTF-8");
    rc = lakelink_oauth_authorization_url(sp, NULL, NULL, "st\xffte", &s, &err);
    expect_error_free("authorization_url state", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "state is not valid UTF-8");
    rc = lakelink_oauth_access_token(sp, "c\xff", "WEB", NULL, NULL, "v", &s, &err);
    expect_error_free("access_token verifier", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "verifier is not valid UTF-8");
    rc = lakelink_oauth_refresh(sp, "r\xff", &s, &err);
    expect_error_free("refresh refresh_token", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "refresh_token is not valid UTF-8");
    res = run(conn, "SELECT 1", NULL);
    rc = lakelink_result_next_batch(res, 0, "col\xffumnar", &b, &n, &err);
    expect_error_free("next_batch format", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "format is not valid UTF-8");
    close_result(res);
    CHECK(s == NULL && b == NULL && n == 0 && status == 0, "an output was set by a refused call");
}

static void test_huge(uint64_t conn) {
    say("a 10 MB SQL string");
    size_t big = 10u << 20;
    char *sql = malloc(big + 64);
    CHECK(sql != NULL, "out of memory");
    strcpy(sql, "SELECT length('");
    size_t off = strlen(sql);
    memset(sql + off, 'x', big);
    strcpy(sql + off + big, "') AS n");
    uint64_t res = 0;
    lakelink_error *err = NULL;
    double t0 = now_seconds();
    int32_t rc = lakelink_execute(conn, sql, NULL, 0, &res, &err);
    if (rc == LAKELINK_OK) {
        uint8_t *b = NULL;
        int64_t n = 0;
        rc = lakelink_result_next_batch(res, 0, NULL, &b, &n, &err);
        if (rc == LAKELINK_OK) {
            CHECK(b != NULL && batch_int(b, 0, 0) == (int64_t)big, "length %lld", b ? (long long)batch_int(b, 0, 0) : -1LL);
            printf("   ok, the server counted %zu characters in %.2fs\n", big, now_seconds() - t0);
        }
        lakelink_free(b);
        lakelink_result_close(res, NULL);
    }
    if (rc != LAKELINK_OK) {
        check_error_shape(__FILE__, __LINE__, "10 MB SQL", rc, err);
        printf("   %s [%s]: %.200s\n", status_name(rc), err->sqlstate, err->message);
        lakelink_error_free(err);
    }
    CHECK(scalar_int(conn, "SELECT 10", NULL) == 10, "the connection is not usable afterwards");

    say("a 10 MB statement of garbage: a syntax error, the message not 10 MB long");
    memset(sql, '@', big);
    sql[big] = '\0';
    rc = lakelink_execute(conn, sql, NULL, 0, &res, &err);
    err = expect_error("10 MB garbage", rc, err, LAKELINK_ERR_DATABASE, NULL);
    CHECK(strcmp(err->sqlstate, "42601") == 0 || strcmp(err->sqlstate, "42622") == 0, "sqlstate %s", err->sqlstate);
    /* PostgreSQL quotes the offending token, here all of it: the message
     * is as long as the statement. Clean, if not short. */
    printf("   the message is %zu bytes long\n", strlen(err->message));
    lakelink_error_free(err);
    CHECK(scalar_int(conn, "SELECT 11", NULL) == 11, "the connection is not usable afterwards");
    free(sql);

    say("a 1 MB connection string: a clean error, the message not 1 MB long");
    size_t mb = 1u << 20;
    char *cs = malloc(mb + 64);
    CHECK(cs != NULL, "out of memory");
    strcpy(cs, "Host=https://x.cloud.databricks.com;");
    off = strlen(cs);
    memset(cs + off, 'k', mb);
    strcpy(cs + off + mb, "=v");
    char *json = NULL;
    rc = lakelink_connstr_normalize(cs, &json, &err);
    err = expect_error("1 MB key", rc, err, LAKELINK_ERR_CONNECTION_STRING, NULL);
    CHECK(strlen(err->message) < 4096, "a %zu-byte message", strlen(err->message));
    lakelink_error_free(err);
    uint64_t h = 0;
    rc = lakelink_connect(cs, &h, &err);
    expect_error_free("connect, 1 MB key", rc, err, LAKELINK_ERR_CONNECTION_STRING, NULL);

    say("a 1 MB segment without '='");
    memset(cs, 'z', mb);
    cs[mb] = '\0';
    rc = lakelink_connstr_normalize(cs, &json, &err);
    err = expect_error("1 MB segment", rc, err, LAKELINK_ERR_CONNECTION_STRING, NULL);
    CHECK(strlen(err->message) < 4096, "a %zu-byte message", strlen(err->message));
    lakelink_error_free(err);

    say("a 1 MB value of a known key: a clean answer");
    strcpy(cs, "Host=https://x.cloud.databricks.com;OAuthClientId=");
    off = strlen(cs);
    memset(cs + off, 'i', mb);
    cs[off + mb] = '\0';
    rc = lakelink_connstr_normalize(cs, &json, &err);
    if (rc == LAKELINK_OK) {
        CHECK(json != NULL && strlen(json) > mb, "JSON of %zu bytes", json ? strlen(json) : 0);
        printf("   OK, %zu bytes of JSON\n", strlen(json));
        lakelink_free(json);
    } else {
        check_error_shape(__FILE__, __LINE__, "1 MB value", rc, err);
        CHECK(strlen(err->message) < 4096, "a %zu-byte message", strlen(err->message));
        printf("   %s: %s\n", status_name(rc), err->message);
        lakelink_error_free(err);
    }
    free(cs);
}

static void test_null_err(uint64_t conn) {
    say("err NULL: every failing call still returns its code");
    char *s = NULL;
    uint8_t *b = NULL;
    int64_t n = 0;
    int32_t status = 0;
    uint64_t h = 0;
    struct {
        const char *what;
        int32_t rc, want;
    } cases[] = {
        {"normalize NULL", lakelink_connstr_normalize(NULL, &s, NULL), LAKELINK_ERR_INVALID_ARGUMENT},
        {"normalize bad", lakelink_connstr_normalize("Hots=1", &s, NULL), LAKELINK_ERR_CONNECTION_STRING},
        {"token bad", lakelink_token("Hots=1", &s, NULL, NULL), LAKELINK_ERR_CONNECTION_STRING},
        {"token NULL out", lakelink_token(sp, NULL, NULL, NULL), LAKELINK_ERR_INVALID_ARGUMENT},
        {"app NULL url", lakelink_app_request(sp, app, "GET", NULL, NULL, NULL, 0, &status, &s, &b, &n, NULL),
         LAKELINK_ERR_INVALID_ARGUMENT},
        {"app bad connstr", lakelink_app_request("Hots=1", app, "GET", "/api/a", NULL, NULL, 0, &status, &s, &b, &n, NULL),
         LAKELINK_ERR_CONNECTION_STRING},
        {"authorization_url bad", lakelink_oauth_authorization_url("Hots=1", NULL, NULL, NULL, &s, NULL),
         LAKELINK_ERR_CONNECTION_STRING},
        {"access_token NULL out", lakelink_oauth_access_token(sp, "c", "WEB", NULL, NULL, "v", NULL, NULL),
         LAKELINK_ERR_INVALID_ARGUMENT},
        {"refresh bad", lakelink_oauth_refresh("Hots=1", "r", &s, NULL), LAKELINK_ERR_CONNECTION_STRING},
        {"connect NULL", lakelink_connect(NULL, &h, NULL), LAKELINK_ERR_INVALID_ARGUMENT},
        {"execute handle 0", lakelink_execute(0, "SELECT 1", NULL, 0, &h, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"execute syntax", lakelink_execute(conn, "SELEC 1", NULL, 0, &h, NULL), LAKELINK_ERR_DATABASE},
        {"execute negative", lakelink_execute(conn, "SELECT 1", NULL, -3, &h, NULL), LAKELINK_ERR_INVALID_ARGUMENT},
        {"columns 0", lakelink_result_columns(0, &s, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"next_batch 0", lakelink_result_next_batch(0, 0, NULL, &b, &n, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"status 0", lakelink_result_status(0, &s, &n, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"result_close 0", lakelink_result_close(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"autocommit 0", lakelink_set_autocommit(0, 1, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"begin 0", lakelink_begin(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"commit 0", lakelink_commit(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"rollback 0", lakelink_rollback(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"cancel 0", lakelink_cancel(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"close 0", lakelink_close(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"discard 0", lakelink_discard(0, NULL), LAKELINK_ERR_INVALID_HANDLE},
        {"session_idle 0", lakelink_session_idle(0, NULL, NULL), LAKELINK_ERR_INVALID_ARGUMENT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(cases[i].rc == cases[i].want, "%s: %s, want %s", cases[i].what, status_name(cases[i].rc),
              status_name(cases[i].want));
    }
    CHECK(s == NULL && b == NULL && n == 0 && h == 0, "an output was set by a failing call");
    uint64_t res = 0;
    int32_t rc = lakelink_execute(conn, "SELECT 1", NULL, 0, &res, NULL);
    CHECK(rc == LAKELINK_OK && res != 0, "execute with err NULL: %s", status_name(rc));
    rc = lakelink_result_next_batch(res, 0, "nope", &b, &n, NULL);
    CHECK(rc == LAKELINK_ERR_INVALID_ARGUMENT, "unknown format with err NULL: %s", status_name(rc));
    CHECK(lakelink_result_close(res, NULL) == LAKELINK_OK, "result_close with err NULL");
    CHECK(lakelink_result_close(res, NULL) == LAKELINK_ERR_INVALID_HANDLE, "double result_close with err NULL");
    printf("   ok, %zu failing calls with err NULL\n", sizeof cases / sizeof cases[0]);
}

int main(void) {
    sp = need_env("LAKELINK_SP");
    lakebase = need_env("LAKELINK_LAKEBASE");
    app = need_env("LAKELINK_APP_URL");

    uint64_t conn = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(lakebase, &conn, &err);
    expect_ok("connect", rc, err);

    test_null_pointers(conn);
    test_handles();
    test_wrong_kind_and_close();
    test_utf8(conn);
    test_huge(conn);
    test_null_err(conn);

    say("the connection still works after all that");
    CHECK(scalar_int(conn, "SELECT 12", NULL) == 12, "broken");
    rc = lakelink_close(conn, &err);
    expect_ok("close", rc, err);
    rc = lakelink_close(conn, &err);
    expect_error_free("double close", rc, err, LAKELINK_ERR_INVALID_HANDLE, NULL);
    printf("PASS misuse\n");
    return 0;
}
