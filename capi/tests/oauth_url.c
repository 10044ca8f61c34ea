//go:build ignore

/*
 * oauth_url.c: the first OAuth procedure, lakelink_oauth_authorization_url
 * (GetOAuthAuthorizationUrl). C has no HTTP client, so the Go harness
 * follows the URL this program prints (a line "AUTHORIZATION_JSON {...}")
 * to the authorize endpoint, reads the code from the redirect and runs
 * oauth_exchange.c with it.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_WORKSPACE  the workspace URL
 *   LAKELINK_CALLBACK   the callback (redirect) URL to use
 */
#include "check.h"

int main(void) {
    const char *workspace = need_env("LAKELINK_WORKSPACE");
    const char *callback = need_env("LAKELINK_CALLBACK");
    char conn[2048];
    snprintf(conn, sizeof conn, "Host=%s", workspace);
    char *json = NULL;
    lakelink_error *err = NULL;

    say("lakelink_oauth_authorization_url with the defaults (callback, scope and state NULL)");
    int32_t rc = lakelink_oauth_authorization_url(conn, NULL, NULL, NULL, &json, &err);
    expect_ok("authorization_url, defaults", rc, err);
    CHECK(utf8_valid(json), "JSON not UTF-8");
    char *url = json_string(json, "URL"), *state = json_string(json, "State"), *pkce = json_string(json, "PKCEVerifier");
    CHECK(url && state && pkce, "missing fields in %s", json);
    printf("   URL %s\n", url);
    CHECK(strncmp(url, workspace, strlen(workspace)) == 0, "the URL is not on the workspace: %s", url);
    CHECK(contains(url, "response_type=code"), "no response_type=code: %s", url);
    CHECK(contains(url, "code_challenge_method=S256") && contains(url, "code_challenge="), "no PKCE challenge: %s", url);
    CHECK(contains(url, "redirect_uri=http%3A%2F%2Flocalhost%3A8020"), "not the default callback: %s", url);
    CHECK(strlen(state) >= 16, "a short generated state: %s", state);
    CHECK(contains(url, state), "the URL does not carry the state");
    CHECK(strlen(pkce) >= 43 && strlen(pkce) <= 128, "PKCE verifier of %zu characters", strlen(pkce));
    CHECK(!contains(url, pkce), "the URL carries the PKCE verifier itself, not its challenge");
    free(url);
    free(state);
    free(pkce);
    lakelink_free(json);

    say("lakelink_oauth_authorization_url with a callback, scopes and a state");
    json = NULL;
    rc = lakelink_oauth_authorization_url(conn, callback, "all-apis offline_access", "state-from-c", &json, &err);
    expect_ok("authorization_url", rc, err);
    state = json_string(json, "State");
    url = json_string(json, "URL");
    CHECK(state && strcmp(state, "state-from-c") == 0, "State %s", state ? state : "(absent)");
    CHECK(url && contains(url, "state=state-from-c"), "URL %s", url ? url : "(absent)");
    CHECK(contains(url, "scope=all-apis+offline_access") || contains(url, "scope=all-apis%20offline_access"),
          "scopes: %s", url);
    free(state);
    free(url);
    /* For the harness: */
    printf("AUTHORIZATION_JSON %s\n", json);
    lakelink_free(json);

    say("a connection string that does not parse");
    rc = lakelink_oauth_authorization_url("Host", NULL, NULL, NULL, &json, &err);
    expect_error_free("bad connection string", rc, err, LAKELINK_ERR_CONNECTION_STRING, NULL);

    printf("PASS oauth_url\n");
    return 0;
}
