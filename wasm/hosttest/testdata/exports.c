/*
 * exports.c: one operation of liblakelink.so, run from the command line,
 * its answer printed as the WASI module's lakelink_call answers:
 * {"result": ...} or {"error": {...}} (both for an app's unsuccessful
 * answer). agree_test.go compares it with the WASI module's and the CLI's.
 *
 *   exports normalize CONN
 *   exports oauth_authorization_url CONN
 *   exports lakebase_credential CONN
 *   exports token CONN                 result: {"access_token", "expires_unix"}
 *   exports app_request CONN APP_URL METHOD URL HEADERS_JSON
 *                                      result: {"status", "headers", "body" (text)}
 */
#include <stdio.h>
#include <string.h>

#include "lakelink.h"

static void print_string(const char *s, size_t n) {
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c < 0x20) {
            printf("\\u%04x", c);
        } else {
            putchar(c);
        }
    }
    putchar('"');
}

static void print_error(const lakelink_error *e) {
    printf("\"error\": {\"code\": %d, \"http_status\": %d, \"message\": ", e->code, e->http_status);
    print_string(e->message, strlen(e->message));
    printf(", \"kind\": ");
    print_string(e->kind, strlen(e->kind));
    printf(", \"diagnosis\": ");
    print_string(e->diagnosis, strlen(e->diagnosis));
    printf(", \"sqlstate\": ");
    print_string(e->sqlstate, strlen(e->sqlstate));
    printf("}");
}

/* finish prints the error of a failed call (if any) and closes the answer. */
static int finish(int32_t rc, lakelink_error *err, int had_result) {
    if (rc != LAKELINK_OK) {
        if (had_result) {
            printf(", ");
        }
        print_error(err);
        lakelink_error_free(err);
    }
    printf("}\n");
    return 0;
}

int main(int argc, char **argv) {
    lakelink_error *err = NULL;
    int32_t rc;
    if (argc < 3) {
        fprintf(stderr, "usage: exports OP CONN [ARGS...]\n");
        return 2;
    }
    const char *op = argv[1], *conn = argv[2];
    printf("{");
    if (strcmp(op, "normalize") == 0 || strcmp(op, "oauth_authorization_url") == 0 ||
        strcmp(op, "lakebase_credential") == 0) {
        char *json = NULL;
        rc = op[0] == 'n'   ? lakelink_connstr_normalize(conn, &json, &err)
             : op[0] == 'o' ? lakelink_oauth_authorization_url(conn, NULL, NULL, NULL, &json, &err)
                            : lakelink_lakebase_credential(conn, &json, &err);
        if (rc == LAKELINK_OK) {
            printf("\"result\": %s", json);
            lakelink_free(json);
        }
        return finish(rc, err, 0);
    }
    if (strcmp(op, "token") == 0) {
        char *token = NULL;
        int64_t expires = -1;
        rc = lakelink_token(conn, &token, &expires, &err);
        if (rc == LAKELINK_OK) {
            printf("\"result\": {\"access_token\": ");
            print_string(token, strlen(token));
            printf(", \"expires_unix\": %lld}", (long long)expires);
            lakelink_free(token);
        }
        return finish(rc, err, 0);
    }
    if (strcmp(op, "app_request") == 0 && argc == 7) {
        int32_t status = 0;
        char *headers = NULL;
        uint8_t *body = NULL;
        int64_t body_len = 0;
        rc = lakelink_app_request(conn, argv[3], argv[4], argv[5], argv[6], NULL, 0, &status, &headers, &body,
                                  &body_len, &err);
        int answered = headers != NULL;
        if (answered) {
            printf("\"result\": {\"status\": %d, \"headers\": %s, \"body\": ", status, headers);
            print_string((const char *)body, (size_t)body_len);
            printf("}");
            lakelink_free(headers);
            lakelink_free(body);
        }
        return finish(rc, err, answered);
    }
    fprintf(stderr, "exports: unknown op %s or wrong arguments\n", op);
    return 2;
}
