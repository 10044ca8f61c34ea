//go:build ignore

/*
 * basics.c: version and ABI version, the User-Agent, connection strings, tokens.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_SP         the service principal's M2M connection string
 *   LAKELINK_SP_SECRET  its client secret (must never come back)
 *   LAKELINK_WORKSPACE  the workspace URL
 */
#include "check.h"

static void test_version(void) {
    say("lakelink_version and lakelink_abi_version");
    const char *v = lakelink_version();
    CHECK(v != NULL && v[0] != '\0', "empty version");
    CHECK(v[0] >= '0' && v[0] <= '9' && strchr(v, '.') != NULL, "version \"%s\" does not look like 0.1.0", v);
    CHECK(lakelink_version() == v, "the version string is not static");
    CHECK(lakelink_abi_version() == LAKELINK_ABI_VERSION, "library ABI %d, header ABI %d", lakelink_abi_version(),
          LAKELINK_ABI_VERSION);
    printf("   version %s, ABI %d\n", v, lakelink_abi_version());
}

static void test_user_agent(void) {
    say("lakelink_set_user_agent: key/value pairs, once per process");
    lakelink_error *err = NULL;
    int32_t rc = lakelink_set_user_agent("binding/c c/11 and more", &err);
    expect_error_free("set_user_agent, not key/value", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "key/value");
    rc = lakelink_set_user_agent(NULL, &err);
    expect_error_free("set_user_agent, NULL", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "user_agent");
    rc = lakelink_set_user_agent("binding/c c/11", &err);
    CHECK(rc == LAKELINK_OK && err == NULL, "set_user_agent: %d", rc);
    rc = lakelink_set_user_agent("binding/c c/17", &err);
    expect_error_free("set_user_agent, twice", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "set already");
}

static void test_normalize(const char *sp, const char *secret, const char *workspace) {
    say("lakelink_connstr_normalize: canonical keys, secrets as ***");
    /* Keys in another case, blanks around them: normalized. */
    char in[4096];
    snprintf(in, sizeof in, " host = %s ; oauthclientsecret = '%s' ; OAUTHCLIENTID=abc ;", workspace, secret);
    char *json = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connstr_normalize(in, &json, &err);
    expect_ok("normalize", rc, err);
    CHECK(json != NULL && utf8_valid(json), "no JSON");
    printf("   %s\n", json);
    CHECK(!contains(json, secret), "the secret is in the JSON: %s", json);
    char *normalized = json_string(json, "normalized");
    CHECK(normalized != NULL, "no \"normalized\" in %s", json);
    CHECK(contains(normalized, "OAuthClientSecret=***"), "normalized %s", normalized);
    CHECK(contains(normalized, "OAuthClientId=abc"), "normalized %s", normalized);
    CHECK(contains(normalized, "Host="), "normalized %s", normalized);
    const char *props = json_find(json, "properties");
    CHECK(props != NULL && *props == '{', "no properties object in %s", json);
    char *secret_prop = json_string(props, "OAuthClientSecret");
    CHECK(secret_prop != NULL && strcmp(secret_prop, "***") == 0, "properties.OAuthClientSecret %s",
          secret_prop ? secret_prop : "(absent)");
    char *id = json_string(props, "OAuthClientId");
    CHECK(id != NULL && strcmp(id, "abc") == 0, "properties.OAuthClientId %s", id ? id : "(absent)");
    free(normalized);
    free(secret_prop);
    free(id);
    lakelink_free(json);

    /* The harness's own connection string normalizes too. */
    json = NULL;
    rc = lakelink_connstr_normalize(sp, &json, &err);
    expect_ok("normalize the service principal's string", rc, err);
    CHECK(!contains(json, secret), "the secret is in the JSON");
    lakelink_free(json);

    say("lakelink_connstr_normalize: an unknown key is named, with the closest known key");
    char *untouched = (char *)"untouched";
    json = untouched;
    rc = lakelink_connstr_normalize("Host=https://example.cloud.databricks.com;OAuthClientSecert=hunter2hunter2", &json,
                                    &err);
    err = expect_error("unknown key", rc, err, LAKELINK_ERR_CONNECTION_STRING, "unknown key \"OAuthClientSecert\"");
    CHECK(contains(err->message, "did you mean \"OAuthClientSecret\""), "no suggestion: %s", err->message);
    CHECK(!contains(err->message, "hunter2hunter2"), "the value of a misspelt secret key is shown: %s", err->message);
    CHECK(strcmp(err->sqlstate, "") == 0 && strcmp(err->kind, "") == 0 && strcmp(err->diagnosis, "") == 0 &&
              err->http_status == 0,
          "fields of other kinds of error are set");
    CHECK(json == untouched, "json_out was changed on failure");
    lakelink_error_free(err);

    say("lakelink_connstr_normalize: a bad value names its key");
    rc = lakelink_connstr_normalize("Host=https://example.cloud.databricks.com;SSLMode=sometimes", &json, &err);
    err = expect_error("bad value", rc, err, LAKELINK_ERR_CONNECTION_STRING, "SSLMode");
    lakelink_error_free(err);

    say("lakelink_connstr_normalize: a segment without '=' does not show its text");
    rc = lakelink_connstr_normalize("Host=https://example.cloud.databricks.com;s3cr3t-without-key", &json, &err);
    err = expect_error("segment without =", rc, err, LAKELINK_ERR_CONNECTION_STRING, NULL);
    CHECK(!contains(err->message, "s3cr3t-without-key"), "the segment is shown: %s", err->message);
    lakelink_error_free(err);
}

static void test_merge(void) {
    say("lakelink_connstr_merge: overrides by any spelling, null removes, values quoted");
    char *out = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connstr_merge("DatabricksInstance=a;Port=1;Database=x",
                                        "{\"host\": \"h\", \"Password\": \"it's;x\", \"database\": null}", &out, &err);
    expect_ok("merge", rc, err);
    printf("   %s\n", out);
    CHECK(contains(out, "Host=h") && contains(out, "Port=1") && !contains(out, "Database") &&
              contains(out, "Password=\"it's;x\""),
          "merged %s", out);
    lakelink_free(out);

    say("lakelink_connstr_merge: a misspelt override is named");
    rc = lakelink_connstr_merge("Port=1", "{\"Prot\": \"2\"}", &out, &err);
    err = expect_error("misspelt override", rc, err, LAKELINK_ERR_CONNECTION_STRING, "did you mean \"Port\"");
    lakelink_error_free(err);

    say("lakelink_connstr_merge: overrides that are not a JSON object");
    rc = lakelink_connstr_merge("Port=1", "[1]", &out, &err);
    err = expect_error("bad overrides", rc, err, LAKELINK_ERR_INVALID_ARGUMENT, "overrides_json");
    lakelink_error_free(err);
}

static void test_token(const char *sp, const char *secret, const char *workspace) {
    say("lakelink_token: a service principal's M2M token, expiry in the future");
    char *token = NULL;
    int64_t expires = 0;
    lakelink_error *err = NULL;
    time_t before = time(NULL);
    int32_t rc = lakelink_token(sp, &token, &expires, &err);
    expect_ok("token", rc, err);
    CHECK(token != NULL && strlen(token) > 20 && utf8_valid(token), "token %s", token ? "too short" : "NULL");
    CHECK(expires > (int64_t)before + 60, "expiry %lld is not in the future (now %lld)", (long long)expires,
          (long long)before);
    CHECK(expires < (int64_t)before + 24 * 3600, "expiry %lld is more than a day away", (long long)expires);
    printf("   a %zu-byte token, expiring in %lld s\n", strlen(token), (long long)(expires - before));

    say("lakelink_token: expires_out may be NULL; the token is shared by every call for the same identity");
    char *again = NULL;
    rc = lakelink_token(sp, &again, NULL, &err);
    expect_ok("token, expires_out NULL", rc, err);
    CHECK(strcmp(again, token) == 0, "a second token was minted instead of the cached one being reused");
    lakelink_free(again);
    lakelink_free(token);

    say("lakelink_token: a wrong client secret is LAKELINK_ERR_AUTH, and the secret is not shown");
    char bad[2048];
    const char *wrong = "wrong-secret-0123456789abcdef";
    /* Build "Host=<ws>;OAuthClientId=<id>;OAuthClientSecret=<wrong>" from sp. */
    const char *id = strstr(sp, "OAuthClientId=");
    CHECK(id != NULL, "no OAuthClientId in LAKELINK_SP");
    size_t idlen = strcspn(id, ";");
    snprintf(bad, sizeof bad, "Host=%s;%.*s;OAuthClientSecret=%s", workspace, (int)idlen, id, wrong);
    char *untouched = (char *)"untouched";
    token = untouched;
    rc = lakelink_token(bad, &token, &expires, &err);
    err = expect_error("wrong secret", rc, err, LAKELINK_ERR_AUTH, NULL);
    CHECK(!contains(err->message, wrong) && !contains(err->diagnosis, wrong), "the secret is in the error: %s",
          err->message);
    CHECK(!contains(err->message, secret), "the real secret is in the error");
    CHECK(token == untouched, "token_out was changed on failure");
    lakelink_error_free(err);

    say("lakelink_token: an unparseable connection string is LAKELINK_ERR_CONNECTION_STRING");
    rc = lakelink_token("Hots=x", &token, NULL, &err);
    expect_error_free("token, bad connection string", rc, err, LAKELINK_ERR_CONNECTION_STRING, "Host");
}

int main(void) {
    const char *sp = need_env("LAKELINK_SP");
    const char *secret = need_env("LAKELINK_SP_SECRET");
    const char *workspace = need_env("LAKELINK_WORKSPACE");
    test_version();
    test_user_agent();
    test_normalize(sp, secret, workspace);
    test_merge();
    test_token(sp, secret, workspace);
    printf("PASS basics\n");
    return 0;
}
