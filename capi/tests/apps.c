//go:build ignore

/*
 * apps.c: lakelink_app_request against the emulator's app.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_SP         the service principal's M2M connection string (CAN USE on the app)
 *   LAKELINK_SP_ID      its client id
 *   LAKELINK_OUTSIDER   a service principal without CAN USE
 *   LAKELINK_APP_URL    the app's URL
 *   LAKELINK_DEAD_URL   a URL where nothing listens
 */
#include "check.h"

/* A response, as lakelink_app_request returns it. */
typedef struct {
    int32_t rc;
    int32_t status;
    char *headers;
    uint8_t *body;
    int64_t body_len;
    lakelink_error *err;
    char text[65536]; /* the body as a C string (cut) */
} response;

static void request(response *r, const char *conn, const char *method, const char *url, const char *headers_json,
                    const char *body) {
    memset(r, 0, sizeof *r);
    r->rc = lakelink_app_request(conn, method, url, headers_json, (const uint8_t *)body,
                                 body ? (int64_t)strlen(body) : 0, &r->status, &r->headers, &r->body, &r->body_len,
                                 &r->err);
    if (r->body != NULL) {
        CHECK(r->body_len > 0, "a body pointer with length %lld", (long long)r->body_len);
        size_t n = (size_t)r->body_len < sizeof r->text - 1 ? (size_t)r->body_len : sizeof r->text - 1;
        memcpy(r->text, r->body, n);
        r->text[n] = '\0';
    } else {
        CHECK(r->body_len == 0, "no body pointer but length %lld", (long long)r->body_len);
    }
}

static void release(response *r) {
    lakelink_free(r->headers);
    lakelink_free(r->body);
    lakelink_error_free(r->err);
    memset(r, 0, sizeof *r);
}

int main(void) {
    const char *sp = need_env("LAKELINK_SP");
    const char *sp_id = need_env("LAKELINK_SP_ID");
    const char *outsider = need_env("LAKELINK_OUTSIDER");
    const char *app = need_env("LAKELINK_APP_URL");
    const char *dead = need_env("LAKELINK_DEAD_URL");
    static response r;
    char url[2048];

    say("GET /api/whoami: 200, headers as JSON, the body names the service principal");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    request(&r, sp, "GET", url, NULL, NULL);
    expect_ok("whoami", r.rc, r.err);
    CHECK(r.status == 200, "status %d", r.status);
    CHECK(r.headers != NULL && r.headers[0] == '{' && utf8_valid(r.headers), "headers %s", r.headers);
    CHECK(contains(r.headers, "\"Content-Type\":[\"application/json"), "headers %s", r.headers);
    CHECK(r.body != NULL, "no body");
    printf("   %s\n", r.text);
    CHECK(contains(r.text, sp_id), "whoami does not name %s: %s", sp_id, r.text);
    release(&r);

    say("POST /api/echo with a body and headers_json");
    snprintf(url, sizeof url, "%s/api/echo?x=1", app);
    request(&r, sp, "POST", url, "{\"X-Lakelink-Test\": \"h\\u00e9llo\", \"Content-Type\": \"text/plain\"}",
            "ping \xc3\xa9 pong");
    expect_ok("echo", r.rc, r.err);
    CHECK(r.status == 200, "status %d", r.status);
    char *method = json_string(r.text, "method");
    char *body = json_string(r.text, "body");
    CHECK(method && strcmp(method, "POST") == 0, "method %s", method ? method : "(absent)");
    CHECK(body && strcmp(body, "ping \xc3\xa9 pong") == 0, "body %s", body ? body : "(absent)");
    CHECK(contains(r.text, "\"X-Lakelink-Test\":[\"h\xc3\xa9llo\"]"), "the header did not arrive: %s", r.text);
    CHECK(contains(r.text, "\"Content-Type\":[\"text/plain\"]"), "Content-Type: %s", r.text);
    CHECK(!contains(r.text, "\"Authorization\""), "the app saw the Authorization header: %s", r.text);
    free(method);
    free(body);
    release(&r);

    say("GET with a NULL body and an empty headers_json");
    snprintf(url, sizeof url, "%s/api/echo", app);
    request(&r, sp, "GET", url, "", NULL);
    expect_ok("echo, empty headers_json", r.rc, r.err);
    release(&r);

    say("headers_json that is not an object of strings: LAKELINK_ERR_INVALID_ARGUMENT");
    request(&r, sp, "GET", url, "{\"X-A\": 1}", NULL);
    lakelink_error *e = expect_error("headers_json", r.rc, r.err, LAKELINK_ERR_INVALID_ARGUMENT, "headers_json");
    CHECK(r.headers == NULL && r.body == NULL, "outputs set for a request never sent");
    release(&r);

    say("the outsider (no CAN USE): 403, kind forbidden, a diagnosis, the outputs set all the same");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    request(&r, outsider, "GET", url, NULL, NULL);
    e = expect_error("outsider", r.rc, r.err, LAKELINK_ERR_APP, "403");
    CHECK(e->http_status == 403, "http_status %d", e->http_status);
    CHECK(strcmp(e->kind, "forbidden") == 0, "kind %s", e->kind);
    CHECK(contains(e->diagnosis, "CAN USE"), "diagnosis: %s", e->diagnosis);
    printf("   diagnosis: %s\n", e->diagnosis);
    CHECK(strcmp(e->sqlstate, "") == 0, "sqlstate %s", e->sqlstate);
    CHECK(r.status == 403, "status_out %d", r.status);
    CHECK(r.headers != NULL && r.headers[0] == '{', "headers_out not set");
    CHECK(r.body != NULL && r.body_len > 0, "body_out not set");
    printf("   body: %s\n", r.text);
    release(&r);

    say("a route that does not exist: 404, kind not_found");
    snprintf(url, sizeof url, "%s/api/nope", app);
    request(&r, sp, "GET", url, NULL, NULL);
    e = expect_error("404", r.rc, r.err, LAKELINK_ERR_APP, "404");
    CHECK(e->http_status == 404 && strcmp(e->kind, "not_found") == 0, "http_status %d, kind %s", e->http_status, e->kind);
    CHECK(r.status == 404 && r.body != NULL, "outputs not set");
    release(&r);

    say("a path outside /api/: refused before sending, kind not_api_path");
    snprintf(url, sizeof url, "%s/index.html", app);
    request(&r, sp, "GET", url, NULL, NULL);
    e = expect_error("not /api/", r.rc, r.err, LAKELINK_ERR_APP, NULL);
    CHECK(strcmp(e->kind, "not_api_path") == 0, "kind %s", e->kind);
    CHECK(e->http_status == 0, "http_status %d", e->http_status);
    CHECK(e->diagnosis[0] != '\0', "no diagnosis");
    printf("   diagnosis: %s\n", e->diagnosis);
    CHECK(r.headers == NULL && r.body == NULL, "outputs set for a request never sent");
    release(&r);

    say("a dead port: kind network, http_status 0");
    snprintf(url, sizeof url, "%s/api/whoami", dead);
    request(&r, sp, "GET", url, NULL, NULL);
    e = expect_error("dead port", r.rc, r.err, LAKELINK_ERR_APP, NULL);
    CHECK(strcmp(e->kind, "network") == 0, "kind %s", e->kind);
    CHECK(e->http_status == 0, "http_status %d", e->http_status);
    CHECK(e->diagnosis[0] != '\0', "no diagnosis");
    printf("   diagnosis: %s\n", e->diagnosis);
    release(&r);

    say("a URL that is not absolute: an error, no crash");
    request(&r, sp, "GET", "/api/whoami", NULL, NULL);
    CHECK(r.rc != LAKELINK_OK, "a relative URL was accepted");
    check_error_shape(__FILE__, __LINE__, "relative URL", r.rc, r.err);
    printf("   %s: %s\n", status_name(r.rc), r.err->message);
    release(&r);

    printf("PASS apps\n");
    return 0;
}
