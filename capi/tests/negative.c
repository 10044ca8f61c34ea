//go:build ignore

/*
 * negative.c: deliberately wrong uses of lakelink's buffers, which the
 * memory checker must catch; harness_test.go expects this program to FAIL
 * under AddressSanitizer, proving the checks of the other programs are
 * live.
 *
 *   negative leak        forgets to lakelink_free a JSON string the library returned
 *   negative leak-batch  with the Go runtime busy (a Lakebase session, its
 *                        threads and goroutines), forgets a batch and an error
 *   negative overflow    reads one byte past the end of an error message
 *   negative ok          does none of that (a control: must pass)
 *
 * Environment (leak-batch, set by harness_test.go):
 *   LAKELINK_LAKEBASE  a Lakebase connection string
 */
#include "check.h"

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: negative leak|leak-batch|overflow|ok");
    const char *mode = argv[1];
    char *json = NULL;
    lakelink_error *err = NULL;
    int32_t rc = lakelink_connstr_normalize("Host=https://example.cloud.databricks.com", &json, &err);
    expect_ok("normalize", rc, err);
    if (strcmp(mode, "leak") == 0) {
        printf("leaking the %zu-byte JSON at %p\n", strlen(json) + 1, (void *)json);
        json = NULL; /* lost */
    }
    lakelink_free(json);

    if (strcmp(mode, "leak-batch") == 0 || strcmp(mode, "ok") == 0) {
        uint64_t conn = 0, res = 0;
        rc = lakelink_connect(need_env("LAKELINK_LAKEBASE"), &conn, &err);
        expect_ok("connect", rc, err);
        uint8_t *batch = NULL;
        int64_t len = 0;
        res = run(conn, "SELECT g, 'row ' || g FROM generate_series(1, 100) AS g", NULL);
        rc = lakelink_result_next_batch(res, 0, NULL, &batch, &len, &err);
        expect_ok("next_batch", rc, err);
        CHECK(batch_check(batch, len) == 100, "rows");
        close_result(res);
        rc = lakelink_execute(conn, "SELEC 1", NULL, 0, &res, &err);
        CHECK(rc == LAKELINK_ERR_DATABASE && err != NULL, "status %d", rc);
        if (strcmp(mode, "leak-batch") == 0) {
            printf("leaking a %lld-byte batch at %p and an error at %p\n", (long long)len, (void *)batch, (void *)err);
        } else {
            lakelink_free(batch);
            lakelink_error_free(err);
        }
        batch = NULL;
        err = NULL;
        rc = lakelink_close(conn, &err);
        expect_ok("close", rc, err);
    }

    if (strcmp(mode, "overflow") == 0) {
        /* lakelink_version's string is static; a returned buffer is needed:
         * the error of a refused call will do. */
        rc = lakelink_connstr_normalize("Hots=1", &json, &err);
        CHECK(rc == LAKELINK_ERR_CONNECTION_STRING, "status %d", rc);
        size_t n = strlen(err->message);
        volatile char past = err->message[n + 1]; /* one past the NUL */
        printf("read %d past the end of the message\n", past);
        lakelink_error_free(err);
    }
    printf("PASS negative %s (a memory checker should have objected unless the mode is ok)\n", mode);
    return 0;
}
