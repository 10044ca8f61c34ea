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

static void request(response *r, const char *conn, const char *app, const char *method, const char *url,
                    const char *headers_json, const char *body) {
    memset(r, 0, sizeof *r);
    r->rc = lakelink_app_request(conn, app, method, url, headers_json, (const uint8_t *)body,
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

/* lakelink_app_authorize and lakelink_app_diagnose: the caller sends with
 * its own client; here the "client" is lakelink_app_request, whose answer
 * (status, headers, body) is handed to lakelink_app_diagnose, which must
 * say what lakelink_app_request said. */
static void test_authorize_and_diagnose(const char *sp, const char *outsider, const char *app, const char *dead) {
    char url[2048];
    char *authorization = NULL, *target = NULL;
    lakelink_error *err = NULL;
    static response r;

    say("lakelink_app_authorize: an /api/ route gets \"Bearer <token>\", the token lakelink_token gives, and its URL");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    int32_t rc = lakelink_app_authorize(sp, app, "GET", "api/whoami", &target, &authorization, &err);
    expect_ok("authorize", rc, err);
    CHECK(strcmp(target, url) == 0, "url_out %s, want %s", target, url);
    char *token = NULL;
    rc = lakelink_token(sp, &token, NULL, &err);
    expect_ok("token", rc, err);
    CHECK(strncmp(authorization, "Bearer ", 7) == 0 && strcmp(authorization + 7, token) == 0, "authorization is not the token");
    lakelink_free(authorization);
    lakelink_free(target);
    lakelink_free(token);
    authorization = target = NULL;
    rc = lakelink_app_authorize(sp, NULL, "GET", url, &target, &authorization, &err);
    expect_error_free("authorize, app_url NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "app_url is NULL");

    say("lakelink_app_authorize_reusable: the same header, and for how long it holds (until the token's renewal)");
    int64_t reuse_ms = 0, expires = 0;
    char *user_agent = NULL;
    rc = lakelink_app_authorize_reusable(sp, app, "GET", url, &target, &authorization, &reuse_ms, &user_agent, &err);
    expect_ok("authorize_reusable", rc, err);
    rc = lakelink_token(sp, &token, &expires, &err);
    expect_ok("token", rc, err);
    CHECK(strncmp(authorization, "Bearer ", 7) == 0 && strcmp(authorization + 7, token) == 0, "authorization is not the token");
    CHECK(reuse_ms > 0 && (int64_t)time(NULL) * 1000 + reuse_ms <= expires * 1000 + 1000, "reuse_ms %lld, token expires %lld",
          (long long)reuse_ms, (long long)expires);
    CHECK(strcmp(target, url) == 0, "url_out %s, want %s", target, url);
    CHECK(strncmp(user_agent, "lakelink/", 9) == 0 && strstr(user_agent, " auth/oauth-m2m") != NULL,
          "user_agent_out %s: not lakelink's, with the auth type", user_agent);
    lakelink_free(authorization);
    lakelink_free(target);
    lakelink_free(token);
    lakelink_free(user_agent);
    authorization = target = NULL;
    rc = lakelink_app_authorize_reusable(sp, app, "GET", url, &target, &authorization, NULL, &user_agent, &err);
    expect_error_free("authorize_reusable, reuse_ms_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "reuse_ms_out");

    say("lakelink_app_authorize refuses a path outside /api/ and another host: kind not_api_path, other_host");
    snprintf(url, sizeof url, "%s/index.html", app);
    rc = lakelink_app_authorize(sp, app, "GET", url, &target, &authorization, &err);
    lakelink_error *e = expect_error("authorize /index.html", rc, err, LAKELINK_ERR_APP, "not an /api/ route");
    CHECK(strcmp(e->kind, "not_api_path") == 0 && e->http_status == 0 && e->diagnosis[0], "kind %s", e->kind);
    CHECK(authorization == NULL && target == NULL, "authorization_out or url_out set on a refusal");
    lakelink_error_free(e);
    snprintf(url, sizeof url, "%s/api/whoami", dead);
    rc = lakelink_app_authorize(sp, app, "GET", url, &target, &authorization, &err);
    e = expect_error("authorize another host", rc, err, LAKELINK_ERR_APP, "is not the app's host");
    CHECK(strcmp(e->kind, "other_host") == 0, "kind %s", e->kind);
    lakelink_error_free(e);
    rc = lakelink_app_authorize(sp, app, "GET", NULL, &target, &authorization, &err);
    expect_error_free("authorize, url NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "url is NULL");
    rc = lakelink_app_authorize(sp, app, "GET", url, &target, NULL, &err);
    expect_error_free("authorize, authorization_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "authorization_out");
    rc = lakelink_app_authorize(sp, app, "GET", url, NULL, &authorization, &err);
    expect_error_free("authorize, url_out NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "url_out");
    char app_with_path[2048];
    snprintf(app_with_path, sizeof app_with_path, "%s/some/page", app);
    rc = lakelink_app_authorize(sp, app_with_path, "GET", url, &target, &authorization, &err);
    expect_error_free("authorize, app_url with a path", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "has the path");
    rc = lakelink_app_authorize(sp, "", "GET", "/api/whoami", &target, &authorization, &err);
    expect_error_free("authorize, app_url empty", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "app URL is empty");
    CHECK(authorization == NULL && target == NULL, "authorization_out or url_out set on a bad argument");

    say("lakelink_app_diagnose of the outsider's 403: what lakelink_app_request said, the token not shown");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    rc = lakelink_app_authorize(outsider, app, "GET", url, &target, &authorization, &err);
    expect_ok("authorize the outsider", rc, err);
    lakelink_free(target);
    target = NULL;
    request(&r, outsider, app, "GET", url, NULL, NULL);
    CHECK(r.rc == LAKELINK_ERR_APP && r.status == 403, "the outsider got %d", r.status);
    rc = lakelink_app_diagnose(outsider, "GET", url, authorization, r.status, r.headers, r.body, r.body_len, NULL, &err);
    e = expect_error("diagnose 403", rc, err, LAKELINK_ERR_APP, "403");
    CHECK(strcmp(e->message, r.err->message) == 0, "message %s, want %s", e->message, r.err->message);
    CHECK(strcmp(e->diagnosis, r.err->diagnosis) == 0, "diagnosis %s, want %s", e->diagnosis, r.err->diagnosis);
    CHECK(strcmp(e->kind, "forbidden") == 0 && e->http_status == 403, "kind %s", e->kind);
    CHECK(!contains(e->message, authorization + 7) && !contains(e->diagnosis, authorization + 7), "the token is shown");
    lakelink_error_free(e);
    release(&r);

    say("lakelink_app_diagnose of a 401 for a token that is not a JWT, with headers as a list and a string");
    rc = lakelink_app_diagnose(outsider, "GET", url, "Bearer not-a-jwt-token-at-all", 401,
                               "{\"WWW-Authenticate\": \"Bearer error=\\\"invalid_token\\\"\", \"X-A\": [\"1\", \"2\"]}",
                               (const uint8_t *)"{\"message\": \"nope\"}", 19, NULL, &err);
    e = expect_error("diagnose 401", rc, err, LAKELINK_ERR_APP, "401 Unauthorized: nope");
    CHECK(strcmp(e->kind, "unauthorized") == 0, "kind %s", e->kind);
    CHECK(contains(e->diagnosis, "invalid or expired") && contains(e->diagnosis, "invalid_token"), "diagnosis %s", e->diagnosis);
    CHECK(contains(e->diagnosis, "not a JWT") && !contains(e->diagnosis, "not-a-jwt-token-at-all"), "diagnosis %s", e->diagnosis);
    lakelink_error_free(e);

    say("lakelink_app_diagnose of a network error by its code: the diagnosis of lakelink_app_request's");
    snprintf(url, sizeof url, "%s/api/whoami", dead);
    request(&r, sp, dead, "GET", url, NULL, NULL);
    CHECK(r.rc == LAKELINK_ERR_APP && strcmp(r.err->kind, "network") == 0, "the dead port: %d", r.rc);
    rc = lakelink_app_diagnose(sp, "GET", url, authorization, 0, NULL, NULL, 0,
                               "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9", &err);
    e = expect_error("diagnose ECONNREFUSED", rc, err, LAKELINK_ERR_APP, "ECONNREFUSED");
    CHECK(strcmp(e->kind, "network") == 0 && e->http_status == 0, "kind %s", e->kind);
    CHECK(strcmp(e->diagnosis, r.err->diagnosis) == 0, "diagnosis %s, want %s", e->diagnosis, r.err->diagnosis);
    lakelink_error_free(e);
    release(&r);

    say("lakelink_app_diagnose: a 2xx is LAKELINK_OK; bad arguments are errors naming them");
    rc = lakelink_app_diagnose(sp, "GET", url, NULL, 204, NULL, NULL, 0, NULL, &err);
    expect_ok("diagnose 204", rc, err);
    rc = lakelink_app_diagnose(sp, "GET", url, NULL, 500, "[1]", NULL, 0, NULL, &err);
    expect_error_free("diagnose, headers_json an array", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "headers_json");
    rc = lakelink_app_diagnose(sp, "GET", url, NULL, 500, NULL, NULL, 5, NULL, &err);
    expect_error_free("diagnose, body NULL with a length", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "body is NULL");
    rc = lakelink_app_diagnose(sp, "GET", url, NULL, 0, NULL, NULL, 0, NULL, &err);
    expect_error_free("diagnose, no status and no network error", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "network error");
    rc = lakelink_app_diagnose(sp, "GET", "/api/whoami?token=s3cret", NULL, 500, NULL, NULL, 0, NULL, &err);
    e = expect_error("diagnose, a relative url", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "request URL");
    CHECK(!contains(e->message, "s3cret"), "the url's query is shown: %s", e->message);
    lakelink_error_free(e);
    lakelink_free(authorization);
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
    request(&r, sp, app, "GET", url, NULL, NULL);
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
    request(&r, sp, app, "POST", url, "{\"X-Lakelink-Test\": \"h\\u00e9llo\", \"Content-Type\": \"text/plain\"}",
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
    request(&r, sp, app, "GET", url, "", NULL);
    expect_ok("echo, empty headers_json", r.rc, r.err);
    release(&r);

    say("headers_json that is not an object of strings: LAKELINK_ERR_INVALID_ARGUMENT");
    request(&r, sp, app, "GET", url, "{\"X-A\": 1}", NULL);
    lakelink_error *e = expect_error("headers_json", r.rc, r.err, LAKELINK_ERR_INVALID_ARGUMENT, "headers_json");
    CHECK(r.headers == NULL && r.body == NULL, "outputs set for a request never sent");
    release(&r);

    say("the outsider (no CAN USE): 403, kind forbidden, a diagnosis, the outputs set all the same");
    snprintf(url, sizeof url, "%s/api/whoami", app);
    request(&r, outsider, app, "GET", url, NULL, NULL);
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
    request(&r, sp, app, "GET", url, NULL, NULL);
    e = expect_error("404", r.rc, r.err, LAKELINK_ERR_APP, "404");
    CHECK(e->http_status == 404 && strcmp(e->kind, "not_found") == 0, "http_status %d, kind %s", e->http_status, e->kind);
    CHECK(r.status == 404 && r.body != NULL, "outputs not set");
    release(&r);

    say("a path outside /api/: refused before sending, kind not_api_path");
    snprintf(url, sizeof url, "%s/index.html", app);
    request(&r, sp, app, "GET", url, NULL, NULL);
    e = expect_error("not /api/", r.rc, r.err, LAKELINK_ERR_APP, NULL);
    CHECK(strcmp(e->kind, "not_api_path") == 0, "kind %s", e->kind);
    CHECK(e->http_status == 0, "http_status %d", e->http_status);
    CHECK(e->diagnosis[0] != '\0', "no diagnosis");
    printf("   diagnosis: %s\n", e->diagnosis);
    CHECK(r.headers == NULL && r.body == NULL, "outputs set for a request never sent");
    release(&r);

    say("a dead port: kind network, http_status 0");
    snprintf(url, sizeof url, "%s/api/whoami", dead);
    request(&r, sp, dead, "GET", url, NULL, NULL);
    e = expect_error("dead port", r.rc, r.err, LAKELINK_ERR_APP, NULL);
    CHECK(strcmp(e->kind, "network") == 0, "kind %s", e->kind);
    CHECK(e->http_status == 0, "http_status %d", e->http_status);
    CHECK(e->diagnosis[0] != '\0', "no diagnosis");
    printf("   diagnosis: %s\n", e->diagnosis);
    release(&r);

    say("a path relative to app_url, its query holding ://: 200 (RFC 3986 reference)");
    request(&r, sp, app, "GET", "/api/echo?next=http://x", NULL, NULL);
    expect_ok("relative", r.rc, r.err);
    CHECK(contains(r.text, "\"next\":[\"http://x\"]"), "the query did not arrive: %s", r.text);
    release(&r);

    say("another host than app_url's (the token would leak): refused before sending, kind other_host");
    request(&r, sp, app, "GET", "http://127.0.0.2:9/api/x", NULL, NULL);
    e = expect_error("other host", r.rc, r.err, LAKELINK_ERR_APP, "is not the app's host");
    CHECK(strcmp(e->kind, "other_host") == 0 && r.headers == NULL, "kind %s", e->kind);
    release(&r);

    say("app_url NULL, or http to a host on the internet: LAKELINK_ERR_INVALID_ARGUMENT");
    request(&r, sp, NULL, "GET", url, NULL, NULL);
    expect_error("app_url NULL", r.rc, r.err, LAKELINK_ERR_INVALID_ARGUMENT, "app_url is NULL");
    release(&r);
    request(&r, sp, "http://my-app-123.databricksapps.com", "GET", "/api/x", NULL, NULL);
    expect_error("cleartext", r.rc, r.err, LAKELINK_ERR_INVALID_ARGUMENT, "only for a local emulator");
    release(&r);

    test_authorize_and_diagnose(sp, outsider, app, dead);

    printf("PASS apps\n");
    return 0;
}
