//go:build ignore

/*
 * routing.c: where an app's token may go, row by row of the table every
 * binding's tests read (core/apps/testdata/routing.json), through
 * lakelink_app_authorize and lakelink_app_request.
 *
 * Environment (set by harness_test.go):
 *   LAKELINK_SP             the service principal's M2M connection string
 *   LAKELINK_ROUTING_TABLE  the table as lines of fields separated by 0x1F:
 *                           want, app, url, sent, why ({port} replaced by
 *                           the emulator app's port)
 */
#include "check.h"

/* outcome is the table's name for what a call returned. */
static const char *outcome(int32_t rc, const lakelink_error *err) {
    if (rc == LAKELINK_OK) return "allowed";
    if (rc == LAKELINK_ERR_INVALID_ARGUMENT) return "invalid";
    if (rc == LAKELINK_ERR_APP && strcmp(err->kind, "other_host") == 0) return "other_host";
    if (rc == LAKELINK_ERR_APP && strcmp(err->kind, "not_api_path") == 0) return "not_api_path";
    if (rc == LAKELINK_ERR_APP) return "allowed"; /* sent: the answer, or the network, failed */
    return status_name(rc);
}

int main(void) {
    const char *sp = need_env("LAKELINK_SP");
    FILE *f = fopen(need_env("LAKELINK_ROUTING_TABLE"), "r");
    CHECK(f != NULL, "cannot open the table");
    static char line[8192];
    int rows = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        char *field[5] = {0};
        char *p = line;
        for (int i = 0; i < 5; i++) {
            field[i] = p;
            p = strchr(p, '\x1f');
            CHECK(p != NULL || i == 4, "row %d has %d fields", rows + 1, i + 1);
            if (p != NULL) *p++ = '\0';
        }
        const char *want = field[0], *app = field[1], *url = field[2], *sent = field[3], *why = field[4];
        rows++;

        char *target = NULL, *authorization = NULL;
        lakelink_error *err = NULL;
        int32_t rc = lakelink_app_authorize(sp, app, "GET", url, &target, &authorization, &err);
        if (rc != LAKELINK_OK) check_error_shape(__FILE__, __LINE__, why, rc, err);
        const char *got = outcome(rc, err);
        CHECK(strcmp(got, want) == 0, "authorize: app \"%s\", url \"%s\" (%s): %s (%s), want %s", app, url, why, got,
              err ? err->message : "", want);
        CHECK(rc != LAKELINK_OK || strcmp(target, sent) == 0, "authorize: app \"%s\", url \"%s\" (%s): url_out %s, want %s",
              app, url, why, target, sent);
        CHECK(rc == LAKELINK_OK || (target == NULL && authorization == NULL), "outputs set on a refusal (%s)", why);
        lakelink_free(target);
        lakelink_free(authorization);
        lakelink_error_free(err);
        err = NULL;

        int32_t status = 0;
        char *headers = NULL;
        uint8_t *body = NULL;
        int64_t body_len = 0;
        rc = lakelink_app_request(sp, app, "GET", url, NULL, NULL, 0, &status, &headers, &body, &body_len, &err);
        if (rc != LAKELINK_OK) check_error_shape(__FILE__, __LINE__, why, rc, err);
        got = outcome(rc, err);
        CHECK(strcmp(got, want) == 0, "request: app \"%s\", url \"%s\" (%s): %s (%s), want %s", app, url, why, got,
              err ? err->message : "", want);
        CHECK(strcmp(want, "allowed") == 0 || (headers == NULL && body == NULL), "outputs set for a refused request (%s)", why);
        lakelink_free(headers);
        lakelink_free(body);
        lakelink_error_free(err);
    }
    fclose(f);
    CHECK(rows > 50, "only %d rows", rows);
    printf("%d rows\n", rows);
    printf("PASS routing\n");
    return 0;
}
