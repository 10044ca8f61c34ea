//go:build ignore

/*
 * secrets.c: no secret comes back through the C ABI, even when a server
 * echoes one.
 *
 *   - lakelink_connstr_normalize masks the userinfo password of every URL
 *     (Host, Server, DiscoveryURL), as it masks secret keys.
 *   - lakelink_connect, when the credentials API answers a credential cut
 *     short (malformed JSON holding the token; the harness arms that fault),
 *     fails with an error whose message says so and holds neither the token
 *     nor databricks-sdk-go's request log.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_LAKEBASE      a Lakebase connection string (Instance=...)
 *   LAKELINK_CUT_SECRET    the token inside the malformed answer
 */
#include "check.h"

static void test_url_passwords(void) {
    say("lakelink_connstr_normalize: URL userinfo passwords as ***");
    const char *in = "Host=http://u:PwSECRET1@127.0.0.1:8080;Server=http://u:PwSECRET2@db.example;"
                     "DiscoveryURL=http://u:PwSECRET3@127.0.0.1:9/.well-known/oauth-authorization-server";
    char *json = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connstr_normalize(in, &json, &err);
    expect_ok("normalize", rc, err);
    printf("   %s\n", json);
    CHECK(!contains(json, "SECRET"), "a URL password is in the JSON: %s", json);
    CHECK(contains(json, "http://u:***@127.0.0.1:8080"), "Host not shown masked: %s", json);
    CHECK(contains(json, "http://u:***@db.example"), "Server not shown masked: %s", json);
    lakelink_free(json);
}

static void test_credential_cut_short(const char *conn, const char *secret) {
    say("lakelink_connect: the credentials API answers a credential cut short");
    uint64_t handle = 0;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connect(conn, &handle, &err);
    CHECK(rc != LAKELINK_OK && err != NULL && handle == 0, "connected: status %d", rc);
    printf("   %s: %s\n", status_name(rc), err->message);
    CHECK(!contains(err->message, secret), "the token is in the message: %s", err->message);
    CHECK(!contains(err->message, "Request log") && !contains(err->message, "Authorization"),
          "the SDK's request log is in the message: %s", err->message);
    CHECK(contains(err->message, "not valid JSON"), "the message does not say what went wrong: %s", err->message);
    CHECK(!contains(err->diagnosis, secret) && !contains(err->kind, secret), "the token is in another field");
    lakelink_error_free(err);
}

int main(void) {
    test_url_passwords();
    test_credential_cut_short(need_env("LAKELINK_LAKEBASE"), need_env("LAKELINK_CUT_SECRET"));
    printf("PASS secrets\n");
    return 0;
}
