/*
 * check.h: what the C ABI test programs share. Include it first (it sets
 * _POSIX_C_SOURCE before any system header).
 *
 * - CHECK(cond, fmt, ...): print the failure, the file and line, and exit 1.
 * - expect_ok / expect_error: check a lakelink status and its error
 *   out-parameter (every string set, valid UTF-8, code consistent).
 * - need_env: a variable the Go harness (harness_test.go) sets.
 * - json_string / json_int: a minimal reader for the flat JSON the library
 *   returns (enough for these tests; not a JSON parser).
 * - params_*: the parameter encoding of TYPES.md, "Parameters (version 1)".
 * - batch_*: a reader of TYPES.md's "FormatColumnar (version 1)" batches.
 *
 * Every helper is static inline so that a program using only some of them
 * compiles under -Wall -Wextra -Werror.
 */
#ifndef LAKELINK_CHECK_H
#define LAKELINK_CHECK_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lakelink.h"

/* ---- failing ---------------------------------------------------------- */

static inline void check_fail(const char *file, int line, const char *cond, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "FAIL %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(1);
}

#define CHECK(cond, ...)                                                                                               \
    do {                                                                                                               \
        if (!(cond)) check_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                               \
    } while (0)

/* say prints what is being checked, so that a failure's context shows. */
static inline void say(const char *fmt, ...) {
    va_list ap;
    printf("-- ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static inline const char *need_env(const char *name) {
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "FAIL: environment variable %s is not set (run me from harness_test.go)\n", name);
        exit(2);
    }
    return v;
}

static inline double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void sleep_ms(long ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

static inline int contains(const char *s, const char *sub) { return s != NULL && strstr(s, sub) != NULL; }

/* utf8_valid reports whether s is well-formed UTF-8 (no overlongs, no
 * surrogates, nothing beyond U+10FFFF). */
static inline int utf8_valid(const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        int n;
        uint32_t cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        s++;
        for (int i = 0; i < n; i++, s++) {
            if ((*s & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (*s & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
    }
    return 1;
}

/* ---- statuses and errors ---------------------------------------------- */

static inline const char *status_name(int32_t rc) {
    switch (rc) {
    case LAKELINK_OK: return "LAKELINK_OK";
    case LAKELINK_ERR_INVALID_ARGUMENT: return "LAKELINK_ERR_INVALID_ARGUMENT";
    case LAKELINK_ERR_INVALID_HANDLE: return "LAKELINK_ERR_INVALID_HANDLE";
    case LAKELINK_ERR_CONNECTION_STRING: return "LAKELINK_ERR_CONNECTION_STRING";
    case LAKELINK_ERR_AUTH: return "LAKELINK_ERR_AUTH";
    case LAKELINK_ERR_DATABASE: return "LAKELINK_ERR_DATABASE";
    case LAKELINK_ERR_APP: return "LAKELINK_ERR_APP";
    case LAKELINK_ERR_INTERNAL: return "LAKELINK_ERR_INTERNAL";
    }
    return "(unknown status)";
}

/* check_error_shape checks what the header promises of every error. */
static inline void check_error_shape(const char *file, int line, const char *what, int32_t rc, const lakelink_error *e) {
    if (e == NULL) check_fail(file, line, what, "status %s but *err is NULL", status_name(rc));
    if (e->code != rc) check_fail(file, line, what, "err->code %d, but the call returned %d", e->code, rc);
    if (e->message == NULL || e->sqlstate == NULL || e->diagnosis == NULL || e->kind == NULL)
        check_fail(file, line, what, "an error string is NULL (the header says \"\" when not applicable)");
    if (e->message[0] == '\0') check_fail(file, line, what, "empty error message");
    if (!utf8_valid(e->message) || !utf8_valid(e->sqlstate) || !utf8_valid(e->diagnosis) || !utf8_valid(e->kind))
        check_fail(file, line, what, "an error string is not valid UTF-8");
    if (strchr(e->message, '\n') != NULL)
        check_fail(file, line, what, "the message is not one line: %s", e->message);
}

/* expect_ok: rc must be LAKELINK_OK and err NULL. */
#define expect_ok(what, rc, err) expect_ok_at(__FILE__, __LINE__, (what), (rc), (err))
static inline void expect_ok_at(const char *file, int line, const char *what, int32_t rc, lakelink_error *err) {
    if (rc != LAKELINK_OK) {
        if (err != NULL && err->message != NULL)
            check_fail(file, line, what, "%s (%d): %s [sqlstate \"%s\", kind \"%s\", http %d] %s", status_name(rc), rc,
                       err->message, err->sqlstate ? err->sqlstate : "", err->kind ? err->kind : "", err->http_status,
                       err->diagnosis ? err->diagnosis : "");
        check_fail(file, line, what, "%s (%d), no error details", status_name(rc), rc);
    }
    if (err != NULL) check_fail(file, line, what, "LAKELINK_OK but *err was set (%s)", err->message);
}

/* expect_error: rc must be code, err well formed and its message must
 * contain `needle` (NULL: anything). Returns err; the caller frees it. */
#define expect_error(what, rc, err, code, needle) expect_error_at(__FILE__, __LINE__, (what), (rc), (err), (code), (needle))
static inline lakelink_error *expect_error_at(const char *file, int line, const char *what, int32_t rc,
                                              lakelink_error *err, int32_t code, const char *needle) {
    if (rc != code)
        check_fail(file, line, what, "status %s (%d), want %s (%d); message: %s", status_name(rc), rc, status_name(code),
                   code, (err && err->message) ? err->message : "(none)");
    check_error_shape(file, line, what, rc, err);
    if (needle != NULL && strstr(err->message, needle) == NULL)
        check_fail(file, line, what, "message %s: want it to contain \"%s\"", err->message, needle);
    printf("   ok, %s: %.300s\n", status_name(rc), err->message);
    return err;
}

/* expect_error_free: expect_error, then free the error. */
#define expect_error_free(what, rc, err, code, needle)                                                                 \
    lakelink_error_free(expect_error_at(__FILE__, __LINE__, (what), (rc), (err), (code), (needle)))

/* ---- a minimal JSON reader --------------------------------------------- */

/* json_find returns a pointer just after `"key":` (optional blanks
 * skipped) at its first occurrence, NULL if absent. Good enough for the
 * flat objects of these tests, whose keys do not occur as values. */
static inline const char *json_find(const char *json, const char *key) {
    size_t n = strlen(key);
    for (const char *p = json; (p = strchr(p, '"')) != NULL; p++) {
        if (strncmp(p + 1, key, n) == 0 && p[1 + n] == '"') {
            const char *q = p + 2 + n;
            while (*q == ' ') q++;
            if (*q != ':') continue;
            q++;
            while (*q == ' ') q++;
            return q;
        }
    }
    return NULL;
}

/* json_string returns a malloc'd copy of the string value of key (escapes
 * decoded, \uXXXX below U+0800 and BMP only), NULL if absent. */
static inline char *json_string(const char *json, const char *key) {
    const char *p = json_find(json, key);
    if (p == NULL || *p != '"') return NULL;
    p++;
    char *out = malloc(strlen(p) + 1), *o = out;
    CHECK(out != NULL, "out of memory");
    while (*p && *p != '"') {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        switch (*p) {
        case 'n': *o++ = '\n'; break;
        case 't': *o++ = '\t'; break;
        case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 1; i <= 4; i++) {
                char c = p[i];
                cp = cp * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
            }
            p += 4;
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xC0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *o++ = (char)(0xE0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char)(0x80 | (cp & 0x3F));
            }
            break;
        }
        default: *o++ = *p; break; /* \" \\ \/ */
        }
        p++;
    }
    *o = '\0';
    return out;
}

/* json_int returns the integer value of key; CHECKs that it is there. */
static inline long long json_int(const char *json, const char *key) {
    const char *p = json_find(json, key);
    CHECK(p != NULL && (*p == '-' || (*p >= '0' && *p <= '9')), "no integer \"%s\" in %s", key, json);
    return strtoll(p, NULL, 10);
}

/* ---- parameters (TYPES.md, "Parameters (version 1)") ------------------- */

typedef struct {
    uint8_t buf[4096];
    size_t len;
    uint16_t count;
} params;

static inline void params_put(params *p, const void *data, size_t n) {
    CHECK(p->len + n <= sizeof p->buf, "parameter buffer full");
    memcpy(p->buf + p->len, data, n);
    p->len += n;
}

static inline void params_le(params *p, uint64_t v, int bytes) {
    uint8_t b[8];
    for (int i = 0; i < bytes; i++) b[i] = (uint8_t)(v >> (8 * i));
    params_put(p, b, (size_t)bytes);
}

/* params_init writes the header: "LLPB", version 1, the count (patched by
 * each value). */
static inline void params_init(params *p) {
    p->len = 0;
    p->count = 0;
    params_put(p, "LLPB", 4);
    params_le(p, 1, 2);
    params_le(p, 0, 2);
}

static inline void params_counted(params *p) {
    p->count++;
    p->buf[6] = (uint8_t)(p->count & 0xFF);
    p->buf[7] = (uint8_t)(p->count >> 8);
}

static inline void params_null(params *p) {
    params_le(p, 0, 1);
    params_counted(p);
}

static inline void params_int32(params *p, int32_t v) {
    params_le(p, 3, 1);
    params_le(p, (uint64_t)(uint32_t)v, 4);
    params_counted(p);
}

static inline void params_int64(params *p, int64_t v) {
    params_le(p, 4, 1);
    params_le(p, (uint64_t)v, 8);
    params_counted(p);
}

static inline void params_text(params *p, const char *s) {
    size_t n = strlen(s);
    params_le(p, 1, 1);
    params_le(p, (uint64_t)n, 4);
    params_put(p, s, n);
    params_counted(p);
}

/* ---- columnar batches (TYPES.md, "FormatColumnar (version 1)") --------- */

enum { KIND_TEXT = 1, KIND_BOOL = 2, KIND_INT32 = 3, KIND_INT64 = 4, KIND_FLOAT64 = 5 };

static inline uint32_t rd_u32(const uint8_t *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint16_t rd_u16(const uint8_t *b) { return (uint16_t)(b[0] | b[1] << 8); }
static inline uint64_t rd_u64(const uint8_t *b) { return (uint64_t)rd_u32(b) | (uint64_t)rd_u32(b + 4) << 32; }

/* A column of a batch: where its null map and body are. */
typedef struct {
    int kind;
    const uint8_t *nulls; /* NULL without a null map */
    const uint8_t *body;
    uint32_t body_len;
} batch_column;

/* batch_check validates the header of a columnar batch of len bytes and
 * walks every column block, checking that each lies inside the batch and
 * that the last one ends it. Returns the number of rows. */
static inline uint32_t batch_check(const uint8_t *b, int64_t len) {
    CHECK(b != NULL && len >= 16, "batch of %lld bytes", (long long)len);
    CHECK(memcmp(b, "LLCB", 4) == 0, "batch magic %02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
    CHECK(rd_u16(b + 4) == 1, "batch version %u", rd_u16(b + 4));
    CHECK(rd_u32(b + 12) == (uint32_t)len, "header length %u, buffer %lld", rd_u32(b + 12), (long long)len);
    uint16_t cols = rd_u16(b + 6);
    uint32_t rows = rd_u32(b + 8);
    size_t off = 16;
    for (uint16_t c = 0; c < cols; c++) {
        off = (off + 7) & ~(size_t)7;
        CHECK(off + 8 <= (size_t)len, "column %u header beyond the batch", c);
        uint8_t flags = b[off + 1];
        uint32_t body = rd_u32(b + off + 4);
        off += 8;
        if (flags & 1) off = (off + rows + 7) & ~(size_t)7;
        off += body;
        CHECK(off <= (size_t)len, "column %u body beyond the batch", c);
    }
    CHECK(off == (size_t)len, "the batch ends at %zu, the last column at %zu", (size_t)len, off);
    return rows;
}

static inline uint32_t batch_rows(const uint8_t *b) { return rd_u32(b + 8); }
static inline uint16_t batch_columns(const uint8_t *b) { return rd_u16(b + 6); }

/* batch_col locates column c (0-based) of a batch batch_check accepted. */
static inline batch_column batch_col(const uint8_t *b, int c) {
    uint32_t rows = batch_rows(b);
    size_t off = 16;
    batch_column col;
    CHECK(c >= 0 && c < batch_columns(b), "column %d of %u", c, batch_columns(b));
    for (int i = 0;; i++) {
        off = (off + 7) & ~(size_t)7;
        uint8_t flags = b[off + 1];
        col.kind = b[off];
        col.body_len = rd_u32(b + off + 4);
        off += 8;
        col.nulls = NULL;
        if (flags & 1) {
            col.nulls = b + off;
            off = (off + rows + 7) & ~(size_t)7;
        }
        col.body = b + off;
        if (i == c) return col;
        off += col.body_len;
    }
}

static inline int batch_is_null(const uint8_t *b, int c, uint32_t row) {
    batch_column col = batch_col(b, c);
    CHECK(row < batch_rows(b), "row %u of %u", row, batch_rows(b));
    return col.nulls != NULL && col.nulls[row] != 0;
}

/* batch_int reads row of an int32 or int64 column. */
static inline int64_t batch_int(const uint8_t *b, int c, uint32_t row) {
    batch_column col = batch_col(b, c);
    CHECK(row < batch_rows(b), "row %u of %u", row, batch_rows(b));
    if (col.kind == KIND_INT32) return (int32_t)rd_u32(col.body + 4 * (size_t)row);
    CHECK(col.kind == KIND_INT64, "column %d has kind %d, not an integer", c, col.kind);
    return (int64_t)rd_u64(col.body + 8 * (size_t)row);
}

/* batch_text returns a malloc'd copy of row of a text column. */
static inline char *batch_text(const uint8_t *b, int c, uint32_t row) {
    batch_column col = batch_col(b, c);
    CHECK(col.kind == KIND_TEXT, "column %d has kind %d, not text", c, col.kind);
    CHECK(row < batch_rows(b), "row %u of %u", row, batch_rows(b));
    const uint8_t *p = col.body, *end = col.body + col.body_len;
    for (uint32_t i = 0; i < row; i++) {
        const uint8_t *z = memchr(p, 0, (size_t)(end - p));
        CHECK(z != NULL, "text column %d has fewer than %u values", c, row + 1);
        p = z + 1;
    }
    const uint8_t *z = memchr(p, 0, (size_t)(end - p));
    size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
    char *out = malloc(n + 1);
    CHECK(out != NULL, "out of memory");
    memcpy(out, p, n);
    out[n] = '\0';
    return out;
}

/* ---- small Lakebase helpers -------------------------------------------- */

/* run executes sql (with optional params) and returns its result handle. */
static inline uint64_t run(uint64_t conn, const char *sql, const params *p) {
    lakelink_error *err = NULL;
    uint64_t res = 0;
    int32_t rc = lakelink_execute(conn, sql, p ? p->buf : NULL, p ? (int64_t)p->len : 0, &res, &err);
    expect_ok(sql, rc, err);
    CHECK(res != 0, "%s: result handle 0", sql);
    return res;
}

/* fetch reads the next columnar batch of res (NULL at the end). */
static inline uint8_t *fetch(uint64_t res, int32_t max_rows, int64_t *len) {
    lakelink_error *err = NULL;
    uint8_t *batch = NULL;
    int32_t rc = lakelink_result_next_batch(res, max_rows, NULL, &batch, len, &err);
    expect_ok("lakelink_result_next_batch", rc, err);
    if (batch == NULL) {
        CHECK(*len == 0, "no batch but length %lld", (long long)*len);
        return NULL;
    }
    batch_check(batch, *len);
    return batch;
}

static inline void close_result(uint64_t res) {
    lakelink_error *err = NULL;
    int32_t rc = lakelink_result_close(res, &err);
    expect_ok("lakelink_result_close", rc, err);
}

/* scalar_int runs sql, which must return one row whose first column is an
 * integer, and returns it. */
static inline int64_t scalar_int(uint64_t conn, const char *sql, const params *p) {
    uint64_t res = run(conn, sql, p);
    int64_t len = 0;
    uint8_t *batch = fetch(res, 0, &len);
    CHECK(batch != NULL && batch_rows(batch) == 1, "%s: want one row", sql);
    int64_t v = batch_int(batch, 0, 0);
    lakelink_free(batch);
    CHECK(fetch(res, 0, &len) == NULL, "%s: a second batch", sql);
    close_result(res);
    return v;
}

#endif /* LAKELINK_CHECK_H */
