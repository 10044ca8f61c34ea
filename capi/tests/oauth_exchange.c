//go:build ignore

/*
 * oauth_exchange.c: the second and third OAuth procedures,
 * lakelink_oauth_access_token (GetOAuthAccessToken, AuthMode WEB) and
 * lakelink_oauth_refresh (RefreshOAuthAccessToken), with the callback the
 * Go harness got by following oauth_url.c's authorization URL. The verifier
 * is the code or the whole callback URL.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_WORKSPACE      the workspace URL
 *   LAKELINK_CALLBACK       the callback URL the authorization used
 *   LAKELINK_CALLBACK_URL   the URL the browser was sent back to (callback?code=...&state=...)
 *   LAKELINK_CODE           the code from it
 *   LAKELINK_STATE          the State of oauth_url.c's JSON
 *   LAKELINK_PKCE_VERIFIER  the PKCEVerifier of oauth_url.c's JSON
 */
#include "check.h"

/* check_tokens checks a token JSON and returns its refresh token. */
static char *check_tokens(const char *what, const char *json) {
    CHECK(json != NULL && utf8_valid(json), "%s: no JSON", what);
    char *access = json_string(json, "OAuthAccessToken"), *refresh = json_string(json, "OAuthRefreshToken");
    char *scope = json_string(json, "Scope");
    CHECK(access && strlen(access) > 20, "%s: OAuthAccessToken", what);
    CHECK(refresh && strlen(refresh) > 10, "%s: OAuthRefreshToken", what);
    long long expires_in = json_int(json, "ExpiresIn");
    CHECK(expires_in > 60 && expires_in <= 24 * 3600, "%s: ExpiresIn %lld", what, expires_in);
    CHECK(scope != NULL, "%s: no Scope", what);
    printf("   %s: a %zu-byte access token, ExpiresIn %lld, Scope \"%s\"\n", what, strlen(access), expires_in, scope);
    free(access);
    free(scope);
    return refresh;
}

int main(void) {
    const char *workspace = need_env("LAKELINK_WORKSPACE");
    const char *callback = need_env("LAKELINK_CALLBACK");
    const char *back = need_env("LAKELINK_CALLBACK_URL");
    const char *code = need_env("LAKELINK_CODE");
    const char *state = need_env("LAKELINK_STATE");
    const char *verifier = need_env("LAKELINK_PKCE_VERIFIER");
    char conn[4096];
    snprintf(conn, sizeof conn, "Host=%s", workspace);
    char *json = NULL;
    lakelink_error *err = NULL;

    say("lakelink_oauth_access_token, AuthMode WEB, with a code the server never issued: LAKELINK_ERR_AUTH");
    char *untouched = (char *)"untouched";
    json = untouched;
    int32_t rc = lakelink_oauth_access_token(conn, "no-such-code", "WEB", callback, NULL, verifier, &json, &err);
    expect_error_free("unknown code", rc, err, LAKELINK_ERR_AUTH, NULL);
    CHECK(json == untouched, "json_out changed on failure");

    say("the callback URL of another sign-in (its state is not State): refused before the code is sent");
    rc = lakelink_oauth_access_token(conn, back, "WEB", callback, "another-sign-in", verifier, &json, &err);
    err = expect_error("another state", rc, err, LAKELINK_ERR_AUTH, "state");
    CHECK(!contains(err->message, code), "the code is in the message");
    lakelink_error_free(err);

    say("a callback URL with error=access_denied: the refusal, not invalid_grant");
    char denied[4096];
    snprintf(denied, sizeof denied, "%s?error=access_denied&error_description=the+user+denied+the+request&state=%s",
             callback, state);
    rc = lakelink_oauth_access_token(conn, denied, "WEB", callback, state, verifier, &json, &err);
    err = expect_error("refused sign-in", rc, err, LAKELINK_ERR_AUTH, "access_denied: the user denied the request");
    CHECK(!contains(err->message, "invalid_grant"), "message %s", err->message);
    lakelink_error_free(err);

    say("lakelink_oauth_access_token, AuthMode WEB: the whole callback URL, its state checked, and the PKCE verifier");
    json = NULL;
    rc = lakelink_oauth_access_token(conn, back, "WEB", callback, state, verifier, &json, &err);
    expect_ok("access_token", rc, err);
    char *refresh1 = check_tokens("access_token", json);
    lakelink_free(json);

    say("the same code a second time, bare (codes are single use): LAKELINK_ERR_AUTH");
    rc = lakelink_oauth_access_token(conn, code, "WEB", callback, NULL, verifier, &json, &err);
    expect_error_free("code reused", rc, err, LAKELINK_ERR_AUTH, NULL);

    say("WEB without a code: an error naming what is missing");
    rc = lakelink_oauth_access_token(conn, NULL, "WEB", callback, NULL, verifier, &json, &err);
    CHECK(rc != LAKELINK_OK, "no code, but OK");
    check_error_shape(__FILE__, __LINE__, "no code", rc, err);
    CHECK(contains(err->message, "Verifier"), "message %s", err->message);
    printf("   %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);

    say("an unknown AuthMode: an error naming it");
    rc = lakelink_oauth_access_token(conn, code, "CARRIER-PIGEON", callback, NULL, verifier, &json, &err);
    CHECK(rc != LAKELINK_OK, "unknown mode, but OK");
    check_error_shape(__FILE__, __LINE__, "unknown mode", rc, err);
    CHECK(contains(err->message, "CARRIER-PIGEON"), "message %s", err->message);
    printf("   %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);

    say("lakelink_oauth_refresh with the refresh token");
    json = NULL;
    rc = lakelink_oauth_refresh(conn, refresh1, &json, &err);
    expect_ok("refresh", rc, err);
    char *refresh2 = check_tokens("refresh", json);
    CHECK(strcmp(refresh1, refresh2) != 0, "the refresh token was not rotated");
    lakelink_free(json);

    say("lakelink_oauth_refresh with NULL: the connection string's OAuthRefreshToken");
    char conn2[8192];
    snprintf(conn2, sizeof conn2, "Host=%s;OAuthRefreshToken=%s", workspace, refresh2);
    json = NULL;
    rc = lakelink_oauth_refresh(conn2, NULL, &json, &err);
    expect_ok("refresh from the connection string", rc, err);
    char *refresh3 = check_tokens("refresh from the connection string", json);
    lakelink_free(json);

    say("the rotated-out refresh token no longer works: LAKELINK_ERR_AUTH, the token not shown");
    rc = lakelink_oauth_refresh(conn, refresh1, &json, &err);
    err = expect_error("old refresh token", rc, err, LAKELINK_ERR_AUTH, NULL);
    CHECK(!contains(err->message, refresh1), "the refresh token is in the message");
    lakelink_error_free(err);

    say("lakelink_oauth_refresh without any refresh token: an error");
    rc = lakelink_oauth_refresh(conn, NULL, &json, &err);
    CHECK(rc != LAKELINK_OK, "no refresh token, but OK");
    check_error_shape(__FILE__, __LINE__, "no refresh token", rc, err);
    printf("   %s: %s\n", status_name(rc), err->message);
    lakelink_error_free(err);

    free(refresh1);
    free(refresh2);
    free(refresh3);
    printf("PASS oauth_exchange\n");
    return 0;
}
