/*
 * lakelink.h — the C ABI of liblakelink.so.
 *
 * lakelink authenticates to Databricks and uses what it reaches: Databricks
 * Apps (OAuth bearer tokens) and Lakebase (PostgreSQL with OAuth
 * credentials lakelink mints and renews). Every function is driven by a
 * connection string of Key=Value pairs separated by ';' (see README.md).
 *
 * CONVENTIONS
 *
 * Status. Every function but lakelink_version, lakelink_abi_version and the
 * free functions returns an int32_t status: LAKELINK_OK (0) on success, a
 * negative LAKELINK_ERR_* code on failure. On failure, when err is not
 * NULL, *err receives a newly allocated lakelink_error describing what went
 * wrong (message, SQLSTATE, diagnosis); free it with lakelink_error_free.
 * On success *err is set to NULL. err is an out-parameter of the call, not
 * a per-thread or per-handle "last error", so it is thread-safe.
 *
 * Handles. Pools, connections and results are opaque uint64_t handles; 0
 * is never a valid handle. A handle that is unknown, closed, closed twice or of the
 * wrong kind gets LAKELINK_ERR_INVALID_HANDLE, never a crash. Handles are
 * not reused within a process.
 *
 * Strings are NUL-terminated UTF-8. Input strings and buffers are copied
 * before the call returns: the library keeps no pointer the caller gave it.
 * A NULL pointer where a value is required, a negative length, a NULL
 * buffer with a positive length, or an input string that is not valid
 * UTF-8 gets LAKELINK_ERR_INVALID_ARGUMENT.
 *
 * JSON. The JSON a function takes or returns (normalize, headers, OAuth
 * answers, columns) and the error codes are the same through every export
 * (this library, lakelink.wasm, the CLI's --json): internal/ops/CONTRACT.md
 * in the source tree writes them down once.
 *
 * Memory. Every string or buffer the library returns through an
 * out-parameter is allocated by the library and owned by the caller, who
 * frees it with lakelink_free (lakelink_error_free for errors), never with
 * another allocator's free. The library keeps no pointer to it. Out-
 * parameters are left untouched on failure unless documented otherwise.
 *
 * Threads. Every function may be called from any thread, concurrently,
 * including on one connection: calls on a connection are serialized inside.
 * A call blocks only its calling thread. lakelink_cancel may be called from
 * another thread while a statement runs.
 *
 * Process. The library contains a Go runtime, which starts when the library
 * is loaded and runs threads of its own; those threads do not survive
 * fork(), so in the child of a process that had loaded the library any
 * lakelink call may hang forever. Load the library in each child (a parent
 * that forks before loading it is fine: dlopen it after the fork), or
 * spawn a new process (posix_spawn, or fork followed at once by exec).
 * The Python binding loads it on first use and raises an error, rather
 * than hang, in a forked child of a process that had loaded it. Do not
 * unload it (dlclose does not unload it). Every exported function recovers
 * internal panics into LAKELINK_ERR_INTERNAL.
 *
 * SECURITY (README.md, "Security", lists the tests that hold each promise)
 *
 * Where a token goes. An app's bearer token is sent only to the app's own
 * scheme, host and port (app_url), and there only to /api/ routes: every
 * app function takes app_url and resolves the request's url against it as
 * an RFC 3986 reference, refusing anything else before a token is asked
 * for. Redirects are never followed. http is accepted for app and
 * workspace URLs only on a loopback host (localhost, 127.0.0.0/8, [::1]).
 *
 * What is never shown. No secret (client secret, token, password, Lakebase
 * credential, a URL's password) is in a lakelink_error, a log line at any
 * Verbosity, or a normalized connection string; errors of Databricks APIs
 * keep only status, error code and message. Strings the library returns
 * that are secrets are marked so above: free them promptly.
 *
 * Token store. OAuthSettingsLocation's file and its lock are used only when
 * they are regular files of the user's with one name and mode 0600, in a
 * directory others cannot write (or a sticky one); links are not
 * followed. A refresh token or code is redeemed only once the store can
 * take the answer; tokens obtained are never dropped. Timeout bounds the
 * wait for the store's lock.
 *
 * Lakebase TLS. For a Lakebase host the server's certificate is checked
 * (verify-full, the system's roots) before any password is sent, unless
 * SSLMode=require is given; a login that fails for TLS is not retried.
 */
#ifndef LAKELINK_H
#define LAKELINK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version: incremented when a function's signature or meaning
 * changes. Bindings check it at load time. Version 2: the app functions
 * take the app's URL, and lakelink_app_authorize(_reusable) return the URL
 * to send to. Version 3: pools (lakelink_pool_*, lakelink_discard);
 * lakelink_connect opens a session of its own, which lakelink_close ends
 * on the server. Version 4: lakelink_lakebase_credential;
 * lakelink_set_user_agent; rows affected is -1 when the command tag
 * carries no count; SQL of several statements without parameters runs;
 * executemany and COPY (lakelink_execute_many, lakelink_copy_*);
 * asynchronous calls (lakelink_*_start, lakelink_queue_*, lakelink_call_*);
 * pipelines (lakelink_query_pipeline, lakelink_pool_pipeline,
 * lakelink_pipeline_channel_open); lakelink_copy_from_socket; statements
 * whose answers the caller reads (lakelink_session_socket,
 * lakelink_query_send, _prepare, _feed, _receive); lakelink_session_idle. */
#define LAKELINK_ABI_VERSION 4

/* Status codes. */
#define LAKELINK_OK 0
#define LAKELINK_ERR_INVALID_ARGUMENT -1 /* NULL, negative length, not UTF-8, bad value */
#define LAKELINK_ERR_INVALID_HANDLE -2   /* unknown, closed or wrong-kind handle */
#define LAKELINK_ERR_CONNECTION_STRING -3 /* the connection string does not parse */
#define LAKELINK_ERR_AUTH -4             /* no token: login, client secret, token endpoint */
#define LAKELINK_ERR_DATABASE -5         /* Lakebase refused or failed; sqlstate set when the server answered */
#define LAKELINK_ERR_APP -6              /* an app call failed: http_status and diagnosis set */
#define LAKELINK_ERR_INTERNAL -7         /* a bug in lakelink (a recovered panic included) */

/* The steps lakelink_session_start runs: lakelink_begin, _commit,
 * _rollback, _cancel, _set_autocommit(1 or 0), _close and _discard. */
#define LAKELINK_STEP_BEGIN 1
#define LAKELINK_STEP_COMMIT 2
#define LAKELINK_STEP_ROLLBACK 3
#define LAKELINK_STEP_CANCEL 4
#define LAKELINK_STEP_AUTOCOMMIT_ON 5
#define LAKELINK_STEP_AUTOCOMMIT_OFF 6
#define LAKELINK_STEP_CLOSE 7
#define LAKELINK_STEP_DISCARD 8

/* What went wrong. Every string is UTF-8, never NULL ("" when not
 * applicable). Owned by the caller: free with lakelink_error_free. */
typedef struct lakelink_error {
    int32_t code;      /* the status the call returned */
    char *message;     /* one line: what failed and why; never a secret */
    char *sqlstate;    /* the server's SQLSTATE for a database error, else "" (also
                          set, class 22, for a parameter or value lakelink
                          cannot convert: 22023 for a parameter, 22000 for a
                          result value) */
    char *diagnosis;   /* for a failed app call: why, and what to check */
    int32_t http_status; /* for a failed app call: the HTTP status, 0 for a network error */
    char *kind;        /* for a failed app call: unauthorized, forbidden, not_found,
                          login_redirect, network, not_api_path, other_host,
                          too_large (an answer over 64 MiB), http */
    /* Fields added later are appended here, so that a reader compiled
     * against an older header still finds the ones above where it expects. */
    char *detail;      /* a database error's DETAIL from the server ("Key (id)=(1)
                          already exists."), else "" (message includes it too) */
    char *hint;        /* a database error's HINT from the server, else "" */
} lakelink_error;

/* LAKELINK_TYPES_ONLY (used when building the library itself) leaves out
 * the function prototypes below. */
#ifndef LAKELINK_TYPES_ONLY

/* Frees an error; NULL is allowed. */
void lakelink_error_free(lakelink_error *err);

/* Frees a string or buffer the library returned; NULL is allowed. */
void lakelink_free(void *p);

/* The library's version, e.g. "0.1.0". A static string: do not free. */
const char *lakelink_version(void);

/* LAKELINK_ABI_VERSION as the library was built. */
int32_t lakelink_abi_version(void);

/* ---- Process: who uses the library ------------------------------------- */

/* Names the binding (or program) over the library in the User-Agent of
 * every HTTP request the library makes (token endpoints, discovery, the
 * credential API, SCIM, app calls), after lakelink's own part and before
 * the request's auth type, in the Databricks SDKs' format:
 *   lakelink/0.1.0 go/1.26.8 os/linux binding/python python/3.11.7 auth/oauth-m2m
 * user_agent is key/value pairs separated by spaces, each key and value of
 * letters, digits and _ . + - (here "binding/python python/3.11.7").
 * Call it once per process, when the library is loaded, before any other
 * call that reaches the network: the process's configuration reads it at
 * its first use. A second call, or a value not of that form, is
 * LAKELINK_ERR_INVALID_ARGUMENT. Since ABI version 4. */
int32_t lakelink_set_user_agent(const char *user_agent, lakelink_error **err);

/* ---- Connection strings -------------------------------------------- */

/* Parses and validates conn_str. On success *json_out is a JSON object:
 *   {"normalized": "Key=Value;...", "properties": {"Key": "value", ...}}
 * with canonical key names and every secret shown as "***". */
int32_t lakelink_connstr_normalize(const char *conn_str, char **json_out, lakelink_error **err);

/* Applies overrides to conn_str: overrides_json is a JSON object of
 * property names (or aliases, any case) to string values, or to null to
 * remove the property; it is how keyword arguments join a string. On
 * success *out is the merged connection string, secrets included (free it
 * promptly with lakelink_free). */
int32_t lakelink_connstr_merge(const char *conn_str, const char *overrides_json, char **out, lakelink_error **err);

/* ---- Apps ------------------------------------------------------------ */

/* Gets an access token for conn_str (renewed ahead of expiry, shared by
 * every call for the same identity). *token_out is the token (a secret:
 * free it promptly with lakelink_free). *expires_out is its expiry in Unix
 * seconds, 0 when unknown; expires_out may be NULL. */
int32_t lakelink_token(const char *conn_str, char **token_out, int64_t *expires_out, lakelink_error **err);

/* Calls a Databricks App route with a bearer token for conn_str.
 *   app_url      the app's base URL, https://host[:port] (http only for a
 *                loopback host: localhost, 127.0.0.0/8, [::1]), the only
 *                origin the token goes to
 *   method       "GET", "POST", ...
 *   url          a reference resolved against app_url as RFC 3986 says: a
 *                path with its query ("/api/items?next=https://x"), or an
 *                absolute URL of the app. It must name an /api/ route of
 *                the app's own scheme, host and port; anything else is
 *                refused before a token is asked for and anything sent
 *                (LAKELINK_ERR_APP, kind "other_host" or "not_api_path").
 *                The request goes to app_url's own scheme and host.
 *   headers_json a JSON object {"Name": "value" or ["value", ...], ...} or NULL
 *   body, body_len  the request body, or NULL and 0
 * On success (any 2xx) *status_out is the status, *headers_out a JSON object
 * {"Name": ["value", ...]} and *body_out and *body_len_out the response body
 * (NULL and 0 when empty). On an HTTP failure the status is
 * LAKELINK_ERR_APP and the outputs are set all the same (the app's body
 * may explain), err carrying http_status, kind and diagnosis. An app_url
 * that is not one, or a url that is not a reference to one of its routes
 * (a user name or password in it, a backslash in its path), is
 * LAKELINK_ERR_INVALID_ARGUMENT. */
int32_t lakelink_app_request(const char *conn_str, const char *app_url, const char *method, const char *url,
                             const char *headers_json, const uint8_t *body, int64_t body_len, int32_t *status_out,
                             char **headers_out, uint8_t **body_out, int64_t *body_len_out, lakelink_error **err);

/* lakelink_app_authorize (or _reusable) and lakelink_app_diagnose are
 * lakelink_app_request for a caller that sends the request with an HTTP
 * client of its own (to stream bodies, or to cancel): the rules stay in the
 * library.
 *
 *   1. lakelink_app_authorize: may the request go, to which URL, and with
 *      which header?
 *   2. send it to *url_out (not to the caller's own reading of url) with
 *      *authorization_out as its Authorization header, NOT following
 *      redirects (a redirect would carry the token elsewhere; the library
 *      never follows one either);
 *   3. on a status other than 2xx, or no answer, lakelink_app_diagnose says
 *      why, as lakelink_app_request would have. */

/* Checks that method and url may carry conn_str's token, as
 * lakelink_app_request does: url, resolved against app_url, must be an
 * /api/ route of the app's own scheme, host and port. A refusal, before
 * any token is asked for, is LAKELINK_ERR_APP with kind "not_api_path" or
 * "other_host" and the diagnosis; an app_url or url that is not one is
 * LAKELINK_ERR_INVALID_ARGUMENT. On success *url_out is the absolute URL
 * to send the request to (free with lakelink_free) and
 * *authorization_out the Authorization header's value, "Bearer <token>"
 * (a secret: free it promptly with lakelink_free), or "" when the token
 * source gave an empty token (send none). The token comes from the same
 * cache as lakelink_token's. */
int32_t lakelink_app_authorize(const char *conn_str, const char *app_url, const char *method, const char *url,
                               char **url_out, char **authorization_out, lakelink_error **err);

/* lakelink_app_authorize, and *reuse_ms_out: for how many milliseconds
 * from now the library would give the same answer for the same method and
 * url (until its token's renewal), or 0 when it cannot say (call each
 * time). Within that time a caller may send *authorization_out with
 * identical requests instead of calling again, measuring it with a
 * monotonic clock; after an answer other than 2xx, or none, it must call
 * again (the token may have been refused, and renewed early).
 * *user_agent_out (free with lakelink_free) is the User-Agent to send, as
 * lakelink_app_request sends it: lakelink's, the binding's part
 * (lakelink_set_user_agent) and the token's auth type; a request's own
 * User-Agent, if any, goes after it, separated by a space. (ABI 4 added
 * user_agent_out.) */
int32_t lakelink_app_authorize_reusable(const char *conn_str, const char *app_url, const char *method, const char *url,
                                        char **url_out, char **authorization_out, int64_t *reuse_ms_out,
                                        char **user_agent_out, lakelink_error **err);

/* Diagnoses the answer to a request lakelink_app_authorize allowed:
 *   sent_authorization  the Authorization header it carried (NULL or "":
 *                       none); its token is read (principal, expiry,
 *                       scopes), never shown
 *   status              the HTTP status, or 0 when there was no answer
 *   headers_json        the answer's headers, a JSON object {"Name": "value"
 *                       or ["value", ...]}, or NULL
 *   body, body_len      the answer's body (its message is quoted), or NULL, 0
 *   network_error       with status 0: the client's description of the
 *                       failure; the first errno or Node code in it that
 *                       lakelink knows is understood ("ECONNREFUSED:
 *                       connect ECONNREFUSED 127.0.0.1:9", ENOTFOUND,
 *                       EAI_AGAIN, ETIMEDOUT, ECONNRESET, EHOSTUNREACH,
 *                       certificate codes, undici's UND_ERR_*); it becomes
 *                       the message, the user info and query of URLs in it
 *                       redacted
 * A 2xx status returns LAKELINK_OK. Otherwise the status is LAKELINK_ERR_APP
 * and err carries http_status, kind and diagnosis: the error
 * lakelink_app_request would have returned for the same answer. A url that
 * is not absolute, or status 0 without network_error, is
 * LAKELINK_ERR_INVALID_ARGUMENT. */
int32_t lakelink_app_diagnose(const char *conn_str, const char *method, const char *url, const char *sent_authorization,
                              int32_t status, const char *headers_json, const uint8_t *body, int64_t body_len,
                              const char *network_error, lakelink_error **err);

/* ---- OAuth procedures (the CData connectors' names and semantics) ---- */

/* GetOAuthAuthorizationUrl. callback_url, scope and state may be NULL or ""
 * for the defaults. *json_out: {"URL": ..., "State": ..., "PKCEVerifier": ...}
 * (PKCEVerifier is a secret the caller keeps until the exchange). */
int32_t lakelink_oauth_authorization_url(const char *conn_str, const char *callback_url, const char *scope,
                                         const char *state, char **json_out, lakelink_error **err);

/* GetOAuthAccessToken. auth_mode "WEB" exchanges verifier with
 * pkce_verifier and callback_url: verifier is the code, or the whole URL the
 * browser was sent back to (its code is taken; its state must be state
 * when state is given; an error=... in it is reported as the server's
 * refusal, LAKELINK_ERR_AUTH). "APP" runs the browser flow. *json_out:
 * {"OAuthAccessToken": ..., "OAuthRefreshToken": ..., "ExpiresIn": seconds, "Scope": ...}
 * (secrets: free promptly). */
int32_t lakelink_oauth_access_token(const char *conn_str, const char *verifier, const char *auth_mode,
                                    const char *callback_url, const char *state, const char *pkce_verifier,
                                    char **json_out, lakelink_error **err);

/* RefreshOAuthAccessToken: redeems refresh_token (or the connection
 * string's OAuthRefreshToken when NULL). *json_out as above; keep the new
 * refresh token, the old one no longer works. */
int32_t lakelink_oauth_refresh(const char *conn_str, const char *refresh_token, char **json_out, lakelink_error **err);

/* ---- Lakebase ---------------------------------------------------------- */

/* The Lakebase login for conn_str (Server with Instance or Endpoint, or a
 * Password given), for a Postgres driver of the caller's own (psycopg,
 * asyncpg, node-postgres, JDBC, ...) to log in with. *json_out:
 * {"host", "port", "database", "user", "password" (a secret: free
 * promptly), "sslmode", "sslrootcert" (libpq's: a CA file, or "" for
 * none), "sslrootcert_pem" (the CA's PEM text when SSLServerCert was
 * given as text; sslrootcert is then a file the library wrote it to),
 * "application_name", "expires_at" (RFC 3339, null when unknown)}
 * (internal/ops/CONTRACT.md, "Credential"). The credential is cached per
 * identity and renewed ahead of expiry: call this before every new login
 * rather than keeping the password. */
int32_t lakelink_lakebase_credential(const char *conn_str, char **json_out, lakelink_error **err);

/* Opens a Lakebase session of its own for conn_str (the credential is
 * minted and renewed inside; the pool properties are not used).
 * *conn_out is its handle, in autocommit mode; lakelink_close ends the
 * session on the server. For many short uses, take sessions from a pool
 * (lakelink_pool_open) instead. */
int32_t lakelink_connect(const char *conn_str, uint64_t *conn_out, lakelink_error **err);

/* Opens a pool of Lakebase sessions for conn_str, sized by its properties
 * (MinConnections, MaxConnections, MaxIdleTime, MaxLifetime, PoolTimeout,
 * MaxUsers, MaxUserConnections, UserIdleTime; README.md gives their
 * defaults). It logs in once now, so a wrong host, user or credential is
 * reported here. *pool_out is its handle. */
int32_t lakelink_pool_open(const char *conn_str, uint64_t *pool_out, lakelink_error **err);

/* Takes a session from the pool (user_token NULL) or from the pool's
 * sessions of the App user whose access token user_token is (the
 * X-Forwarded-Access-Token header's value). A user_token without the
 * shape of one bearer token ("", two tokens, "Bearer " before it, over
 * 64 KiB) is LAKELINK_ERR_INVALID_ARGUMENT; one the workspace does not
 * accept, or that expired, is LAKELINK_ERR_AUTH (the message never holds
 * the token). It waits at most PoolTimeout for a free session; then it
 * fails (LAKELINK_ERR_DATABASE) saying the pool's size.
 * *conn_out is a connection handle like lakelink_connect's, in autocommit
 * mode; lakelink_close returns it to the pool. */
int32_t lakelink_pool_acquire(uint64_t pool, const char *user_token, uint64_t *conn_out, lakelink_error **err);

/* Counts the pool's sessions now. *json_out:
 *   {"total": n, "idle": n, "acquired": n, "waiting": n, "max": n, "min": n, "timeout": seconds, "users": n, "user_sessions": n}
 * total = idle + acquired (+ sessions logging in); waiting: acquires
 * waiting for a session; max: MaxConnections; min: MinConnections;
 * timeout: PoolTimeout in seconds; users: the App users' pools
 * kept, user_sessions their sessions. */
int32_t lakelink_pool_stats(uint64_t pool, char **json_out, lakelink_error **err);

/* Closes the pool: its idle sessions now, acquired ones when they are
 * returned (their connection handles stay valid until lakelink_close).
 * The pool handle is invalid afterwards: lakelink_pool_acquire then gets
 * LAKELINK_ERR_INVALID_HANDLE. It does not wait for acquired sessions;
 * it cancels the statements of lakelink_pool_pipeline calls running (they
 * fail with SQLSTATE 57014), waiting for the server's answer to that. */
int32_t lakelink_pool_close(uint64_t pool, lakelink_error **err);

/* Runs sql with PostgreSQL's $1..$n placeholders. params/params_len is the
 * encoded parameter list (TYPES.md, "Parameters"), or NULL and 0 for none.
 * Without parameters sql may hold several statements separated by
 * semicolons ("DROP TABLE IF EXISTS t; CREATE TABLE t (id int)"): they run
 * as psycopg runs them, in one message of the simple query protocol, and
 * the result is the last statement's (its rows read into memory; an error
 * stops the statements at the one that failed).
 * *result_out is the result's handle: read its columns, then its rows in
 * batches, then its command tag; close it. A new statement on the
 * connection discards what is left of the previous result. */
int32_t lakelink_execute(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len,
                         uint64_t *result_out, lakelink_error **err);

/* Runs sql like lakelink_execute and, in the same call, reads the columns
 * and up to max_rows (<= 0: 1000) rows: one crossing for a small query.
 *   *columns_json_out  the columns, as lakelink_result_columns gives them
 *   *batch_out, *len_out  the first batch in format, as
 *                      lakelink_result_next_batch gives it (NULL and 0 when
 *                      there are no rows)
 * When fewer than max_rows rows came, the result is complete and closed:
 * *result_out is 0 and *command_tag_out and *rows_affected_out are set.
 * Otherwise *result_out is the open result: read on with
 * lakelink_result_next_batch, then lakelink_result_status, and close it;
 * *command_tag_out is "" and *rows_affected_out -1 until then. On failure
 * no output is set. */
int32_t lakelink_query(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len, int32_t max_rows,
                       const char *format, char **columns_json_out, uint8_t **batch_out, int64_t *len_out,
                       char **command_tag_out, int64_t *rows_affected_out, uint64_t *result_out,
                       lakelink_error **err);

/* Runs several independent statements on conn in one round trip, as
 * Postgres.js pipelines the queries waiting for a session: each is sent
 * with its own Sync, so it runs in its own implicit transaction, as if
 * sent alone (one that fails undoes none of the others). statements/
 * statements_len holds them, each its SQL (one statement, $1..$n
 * placeholders) and its parameters (TYPES.md, "Pipelines").
 * *answers_out and *len_out (free it with lakelink_free) hold each answer in
 * order: its columns, command tag, rows affected and every row, in
 * batches of max_rows (<= 0: 1000) rows of format; or its error, with the
 * fields of a lakelink_error (parameters that do not decode, the server's
 * error, also one at the statement's commit such as a deferred
 * constraint's; a session that failed midway fails each statement it left
 * unanswered). Only in autocommit mode outside a transaction, else
 * LAKELINK_ERR_INVALID_ARGUMENT; a statements buffer that does not frame
 * is LAKELINK_ERR_INVALID_ARGUMENT too, and nothing runs. A statement
 * refused because a schema change made its prepared form stale runs again
 * once. Discards what is left of the connection's result. */
int32_t lakelink_query_pipeline(uint64_t conn, const uint8_t *statements, int64_t statements_len, int32_t max_rows,
                                const char *format, uint8_t **answers_out, int64_t *len_out, lakelink_error **err);

/* Statements whose answers the caller reads from the session's socket,
 * for an event loop that should not wait for a thread to bring each
 * answer (POSIX). lakelink_query_send sends sql with params as
 * lakelink_query runs it, and returns at once with *sending_out
 * LAKELINK_SEND_SENT; or it sends nothing: LAKELINK_SEND_PREPARE_FIRST,
 * the statement must be prepared first (call lakelink_query_prepare,
 * which waits for the server, then lakelink_query_send again; a session
 * prepares a statement once), or LAKELINK_SEND_NOT_SENT, lakelink_query
 * must run it (a transaction open, autocommit off, a result not read to
 * its end, SQL of several statements, a session not this library's, or
 * a platform other than POSIX). Parameters that do not encode are its
 * error. Once sent, the caller reads what comes on the session's socket
 * (a duplicate from lakelink_session_socket, which the caller owns and
 * closes; read it only while a statement sent waits for its answer) and
 * passes all it reads to lakelink_query_feed, which sets *feeding_out to
 * LAKELINK_FEED_MORE (read on), LAKELINK_FEED_COMPLETE (the whole answer
 * came: lakelink_query_receive will not wait) or LAKELINK_FEED_WAIT
 * (stop reading the socket and call lakelink_query_receive where it may
 * wait for the server: a large answer, whose result then reads the rest
 * as it comes; a statement to run again after a schema change; a COPY; a
 * failed session). lakelink_query_receive sets lakelink_query's outputs.
 * Any other call on conn before it reads and drops the answer
 * (lakelink_query_receive then fails with LAKELINK_ERR_DATABASE): the
 * caller must have fed all it read of it, and read the socket no more.
 * Statements with more than 64 KiB of encoded parameters are not sent so
 * (LAKELINK_SEND_NOT_SENT): writing them could wait for the server. */
#define LAKELINK_SEND_NOT_SENT 0
#define LAKELINK_SEND_PREPARE_FIRST 1
#define LAKELINK_SEND_SENT 2
#define LAKELINK_FEED_MORE 0
#define LAKELINK_FEED_COMPLETE 1
#define LAKELINK_FEED_WAIT 2
int32_t lakelink_session_socket(uint64_t conn, int32_t *fd_out, lakelink_error **err);
int32_t lakelink_query_send(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len,
                            int32_t *sending_out, lakelink_error **err);
int32_t lakelink_query_prepare(uint64_t conn, const char *sql, lakelink_error **err);
int32_t lakelink_query_feed(uint64_t conn, const uint8_t *data, int64_t data_len, int32_t *feeding_out,
                            lakelink_error **err);
int32_t lakelink_query_receive(uint64_t conn, int32_t max_rows, const char *format, char **columns_json_out,
                               uint8_t **batch_out, int64_t *len_out, char **command_tag_out,
                               int64_t *rows_affected_out, uint64_t *result_out, lakelink_error **err);

/* Runs a pipeline as lakelink_query_pipeline does, on a session that the
 * pool lends for it and takes back after: one of the pool's own
 * (user_token NULL) or of the App user whose access token user_token is,
 * as lakelink_pool_acquire takes them (waiting up to PoolTimeout). One
 * call instead of an acquire, a statement and a close: for a caller that
 * needs no session of its own. lakelink_pool_close cancels the statements
 * of the pool's pipelines still running. An error returned is one that
 * let none of the statements run (no session, a refused login or token,
 * the pool closed, a statements buffer that does not frame). */
int32_t lakelink_pool_pipeline(uint64_t pool, const char *user_token, const uint8_t *statements, int64_t statements_len,
                               int32_t max_rows, const char *format, uint8_t **answers_out, int64_t *len_out,
                               lakelink_error **err);

/* Opens a pipeline channel: lakelink_query_pipeline asked for and answered
 * over a stream socket, for an event loop whose thread must not wait for
 * the server (Node's main thread: bindings/node/lib/channel.js). *fd_out
 * is the caller's end of a connected Unix stream socket, which the caller
 * owns: it writes requests (a connection or pool handle, max_rows, format,
 * a user token for a pool, and statements) and reads answers (the answers
 * or an error), framed as TYPES.md ("Pipeline channels") says, and
 * watches it as any socket. Each request runs on the library's threads as
 * lakelink_query_pipeline (a connection's) or lakelink_pool_pipeline (a
 * pool's) would, all at once but those on one connection; answers come as
 * their pipelines complete, each with its request's id. Send one request
 * per connection at a time (the next once its answer came): requests on
 * one connection run in no set order; a pool's run at once, each on a
 * session of its own, up to the pool's sessions (the rest wait for one). Closing the descriptor ends the channel:
 * pipelines still running complete unanswered. POSIX only
 * (LAKELINK_ERR_INTERNAL on Windows). */
int32_t lakelink_pipeline_channel_open(int32_t *fd_out, lakelink_error **err);

/* The result's columns as JSON: [{"name": ..., "type_oid": 23, "type_name": "int4"}, ...]
 * ([] for a statement without rows). */
int32_t lakelink_result_columns(uint64_t result, char **json_out, lakelink_error **err);

/* Encodes up to max_rows (<= 0: 1000) further rows in format ("columnar",
 * the default when NULL, or "pickle"; TYPES.md specifies both) into
 * *batch_out and *len_out. At the end of the rows *batch_out is NULL and
 * *len_out 0. */
int32_t lakelink_result_next_batch(uint64_t result, int32_t max_rows, const char *format, uint8_t **batch_out,
                                   int64_t *len_out, lakelink_error **err);

/* The command tag ("SELECT 3", "INSERT 0 1") and rows affected, once the
 * rows are read or the result is closed ("" and -1 before). Rows affected
 * is the count the tag carries, or -1 when it carries none ("CREATE
 * TABLE", "SET"): PEP 249's rowcount. Either output may be NULL. */
int32_t lakelink_result_status(uint64_t result, char **command_tag_out, int64_t *rows_affected_out,
                               lakelink_error **err);

/* Closes a result, discarding rows not read. */
int32_t lakelink_result_close(uint64_t result, lakelink_error **err);

/* Transactions. With autocommit off (PEP 249's default), statements open a
 * transaction that lasts until commit or rollback. */
int32_t lakelink_set_autocommit(uint64_t conn, int32_t on, lakelink_error **err);
int32_t lakelink_begin(uint64_t conn, lakelink_error **err);
int32_t lakelink_commit(uint64_t conn, lakelink_error **err);
int32_t lakelink_rollback(uint64_t conn, lakelink_error **err);

/* Asks the server to cancel the statement running on conn; call it from
 * another thread. The statement then fails with SQLSTATE 57014. */
int32_t lakelink_cancel(uint64_t conn, lakelink_error **err);

/* Rolls back an open transaction, discards the rest of the connection's
 * results, and gives the session back: a pool's (lakelink_pool_acquire)
 * returns to its pool, which replaces it if it outlived MaxLifetime; one
 * of lakelink_connect is ended on the server. The handle is invalid
 * afterwards. Result handles of the connection stay valid until
 * lakelink_result_close (reading one fails: it was discarded). */
int32_t lakelink_close(uint64_t conn, lakelink_error **err);

/* Ends conn's session on the server instead of returning it to its pool
 * (node-postgres's release(err): a session its holder no longer trusts,
 * which no later lakelink_pool_acquire gets); the pool opens another when
 * needed. An open transaction ends with the session, and the connection's
 * results are discarded as by lakelink_close. For a connection of its own
 * (lakelink_connect) it is lakelink_close. The handle is invalid
 * afterwards. */
int32_t lakelink_discard(uint64_t conn, lakelink_error **err);

/* Sets *idle_out to 1 when the connection's session could serve another
 * holder as it is, as its pool would take it back to serve again: no
 * transaction open (the library's, or one a statement began), no result
 * open, no call in progress on it; else 0. It does not wait. For a
 * binding that hands a pool's session from one holder straight to the
 * next. */
int32_t lakelink_session_idle(uint64_t conn, int32_t *idle_out, lakelink_error **err);

/* ---- Bulk: executemany and COPY ------------------------------------ */

/* Runs sql (PostgreSQL's $1..$n placeholders) once per parameter row:
 * rows/rows_len are parameter lists (TYPES.md, "Parameters") one after
 * another (TYPES.md, "Parameter rows"), NULL and 0 for none (nothing
 * runs). All rows go to the server at once as one pipelined batch (one
 * round trip, the statement prepared once): with no transaction open
 * (autocommit), they run in one implicit transaction, so a failing row
 * fails them all (the error is the server's). Rows a statement returns
 * are dropped. *rows_affected_out (may be NULL) is the total of rows
 * affected, or -1 when a statement's tag carries no count. A malformed
 * row is LAKELINK_ERR_INVALID_ARGUMENT naming the row (0 is the first)
 * and parameter; nothing runs then. */
int32_t lakelink_execute_many(uint64_t conn, const char *sql, const uint8_t *rows, int64_t rows_len,
                              int64_t *rows_affected_out, lakelink_error **err);

/* COPY streams. lakelink_copy_from starts sql, a COPY ... FROM STDIN;
 * lakelink_copy_to starts sql, a COPY ... TO STDOUT. *copy_out is the
 * COPY's handle: feed it (lakelink_copy_write, lakelink_copy_write_rows)
 * or read it (lakelink_copy_read), then end it with lakelink_copy_end,
 * which invalidates the handle (always call it, also after a failed
 * write or read). Like a statement, a COPY runs in the open transaction
 * (or opens one when autocommit is off) and discards what is left of the
 * connection's result. Until it ends the session is the COPY's: any other
 * call on the connection (lakelink_cancel excepted) first ends it, as a
 * new statement discards an open result: a COPY FROM is then aborted
 * (its rows are not copied, and its next call fails), the rest of a COPY
 * TO is dropped. An error of the statement itself (no such table) is
 * reported by the next write or by lakelink_copy_end. A statement given
 * to lakelink_copy_from that is no COPY FROM STDIN (a COPY TO STDOUT, whose
 * data is dropped, or no COPY at all) runs, and the next write or
 * lakelink_copy_end fails with LAKELINK_ERR_INVALID_ARGUMENT naming it. */
int32_t lakelink_copy_from(uint64_t conn, const char *sql, uint64_t *copy_out, lakelink_error **err);

/* Sends data/len (copied before the call returns) in the COPY's own
 * format (text, csv or binary, as sql says), any split of it: the library
 * gathers it into messages of 64 KiB. */
int32_t lakelink_copy_write(uint64_t copy, const uint8_t *data, int64_t len, lakelink_error **err);

/* Sends rows, encoded as format says: NULL or "params", parameter lists
 * one after another (TYPES.md, "Parameter rows"), one per row, a value per
 * column of the COPY; "pickle", a Python pickle of a list of tuples or
 * lists of None, bool, int, float, str and bytes (TYPES.md, "Pickled
 * rows": the Python binding's fast path). The library writes them in
 * COPY's text format, each value as its PostgreSQL text input form (as
 * for a statement's parameters), so the server converts it to its
 * column's type. The COPY must be in text format (the default; not csv or
 * binary: as psycopg's write_row, which writes text). Malformed rows, or
 * pickled rows holding anything else, are LAKELINK_ERR_INVALID_ARGUMENT:
 * with "pickle" nothing of them was sent (send them as parameter rows);
 * with "params" the rows before the malformed one were. */
int32_t lakelink_copy_write_rows(uint64_t copy, const char *format, const uint8_t *rows, int64_t rows_len,
                                 lakelink_error **err);

/* Starts sql, a COPY ... TO STDOUT; read it with lakelink_copy_read. */
int32_t lakelink_copy_to(uint64_t conn, const char *sql, uint64_t *copy_out, lakelink_error **err);

/* Reads the next chunk of a COPY TO: *data_out and *len_out hold whole rows
 * (about 64 KiB of them, never part of a row), as the server sent them in
 * the COPY's format; free it with lakelink_free. At the end *data_out is
 * NULL and *len_out 0: then call lakelink_copy_end. */
int32_t lakelink_copy_read(uint64_t copy, uint8_t **data_out, int64_t *len_out, lakelink_error **err);

/* Ends a COPY of either kind and invalidates its handle. For a COPY FROM:
 * with abort_reason NULL it sends what is left and ends the COPY,
 * *rows_out (may be NULL) being the rows copied; with an abort_reason the
 * COPY fails with it (the server rolls it back) and the call returns the
 * server's error, LAKELINK_ERR_DATABASE with SQLSTATE 57014. For a COPY
 * TO: the rest not read is read and dropped (abort_reason is ignored),
 * and *rows_out is the rows copied. An error that ended the COPY before
 * (a bad value, no such table) is returned here too. */
int32_t lakelink_copy_end(uint64_t copy, const char *abort_reason, int64_t *rows_out, lakelink_error **err);

/* Starts sql, a COPY ... FROM STDIN, on conn, fed through a socket instead
 * of calls: for an event loop whose thread cannot call into the library
 * cheaply (lakelink_pipeline_channel_open says why). *fd_out is the
 * caller's end of a connected Unix stream socket, which the caller owns.
 * The caller writes the COPY's data in frames, then a done frame (or a
 * fail frame with its reason, which aborts the COPY: the server rolls it
 * back, SQLSTATE 57014), and reads the COPY's outcome: the rows copied, or
 * the error (TYPES.md, "COPY sockets"). An outcome may come before the
 * caller's end (the server refused the statement or a row): the library
 * then reads and drops what else comes until the caller closes its end.
 * The socket ending before a done frame aborts the COPY. As with
 * lakelink_copy_from, the COPY runs in the open transaction (or opens
 * one when autocommit is off), and the session is the COPY's from the
 * return on: another call on the connection (lakelink_cancel excepted)
 * first ends it, closing the library's end of the socket (the COPY
 * fails, its rows are not copied). POSIX only (LAKELINK_ERR_INTERNAL on
 * Windows). */
int32_t lakelink_copy_from_socket(uint64_t conn, const char *sql, int32_t *fd_out, lakelink_error **err);

/* ---- Asynchronous calls ------------------------------------------------ */

/* For an event loop (Python's asyncio, Node's libuv) that must not block:
 * a *_start function checks its arguments and starts the operation of the
 * blocking function it is named after, returning at once with a call
 * handle; the operation runs on the library's own threads. When it
 * completes, the call's handle joins its queue's completed calls and the
 * queue's file descriptor becomes readable. The loop watches that
 * descriptor (asyncio's loop.add_reader, libuv's uv_poll_start) and, when
 * it is readable, takes the completed calls (lakelink_queue_take) and
 * collects each with the lakelink_call_* function for its kind, which
 * gives the outputs and the error of the blocking function. The library
 * reads the descriptor itself: the caller only watches it (a caller that
 * reads it too must take the calls after reading, never before).
 *
 * A call is collected exactly once; collecting invalidates its handle.
 * Collecting a call that has not completed waits for it (blocking the
 * caller's thread). A call may be collected with a lakelink_call_*
 * function of another kind than its start: LAKELINK_ERR_INVALID_HANDLE,
 * the call's outputs lost (its connection or result stays open until its
 * handle is closed: avoid it).
 *
 * Calls on one connection run in the order they start only if each starts
 * after the previous one completed: start the next statement once the
 * previous call on the connection completed. To stop a running statement,
 * start LAKELINK_STEP_CANCEL on its connection: the statement's call then
 * completes with SQLSTATE 57014, and the connection stays usable. */

/* Opens a queue. *fd_out is its file descriptor, readable while completed
 * calls wait to be taken (one readiness, however many completed); do not
 * close it: lakelink_queue_close does. Not on Windows yet
 * (LAKELINK_ERR_INTERNAL). */
int32_t lakelink_queue_open(int32_t *fd_out, uint64_t *queue_out, lakelink_error **err);

/* Takes up to max (>= 1) completed calls' handles, the oldest first, into
 * calls_out (room for max); *n_out is how many (0: none waiting). Take
 * until *n_out < max: the descriptor stays readable until none is left. */
int32_t lakelink_queue_take(uint64_t queue, uint64_t *calls_out, int32_t max, int32_t *n_out, lakelink_error **err);

/* Closes the queue and its descriptor. Calls still running complete
 * unannounced (collect them by handle, or leave them); close the queue
 * once every call started on it was collected. */
int32_t lakelink_queue_close(uint64_t queue, lakelink_error **err);

/* Starts lakelink_connect, lakelink_pool_open, lakelink_pool_acquire:
 * collect with lakelink_call_handle. */
int32_t lakelink_connect_start(uint64_t queue, const char *conn_str, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_pool_open_start(uint64_t queue, const char *conn_str, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_pool_acquire_start(uint64_t queue, uint64_t pool, const char *user_token, uint64_t *call_out,
                                    lakelink_error **err);

/* Starts lakelink_query: collect with lakelink_call_query. */
int32_t lakelink_query_start(uint64_t queue, uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len,
                             int32_t max_rows, const char *format, uint64_t *call_out, lakelink_error **err);

/* Starts lakelink_query and waits at most timeout_us microseconds for it on
 * the calling thread, as lakelink_call_wait: if it completed, *done_out is 1
 * and the outputs (and the return value) are lakelink_call_query's, the call
 * already collected; else *done_out is 0 and *call_out is to collect with
 * lakelink_call_query, as after lakelink_query_start. One crossing for a
 * short statement from a loop with nothing else to do. */
int32_t lakelink_query_start_wait(uint64_t queue, uint64_t conn, const char *sql, const uint8_t *params,
                                  int64_t params_len, int32_t max_rows, const char *format, int32_t timeout_us,
                                  uint64_t *call_out, int32_t *done_out, char **columns_json_out, uint8_t **batch_out,
                                  int64_t *len_out, char **command_tag_out, int64_t *rows_affected_out,
                                  uint64_t *result_out, lakelink_error **err);

/* Starts lakelink_result_next_batch: collect with lakelink_call_batch. */
int32_t lakelink_result_next_batch_start(uint64_t queue, uint64_t result, int32_t max_rows, const char *format,
                                         uint64_t *call_out, lakelink_error **err);

/* Starts lakelink_result_close (which reads the rows left, from the
 * server): collect with lakelink_call_done. result's handle is invalid
 * from the start on. */
int32_t lakelink_result_close_start(uint64_t queue, uint64_t result, uint64_t *call_out, lakelink_error **err);

/* Starts a step (LAKELINK_STEP_*) on conn: collect with lakelink_call_done. With
 * LAKELINK_STEP_CLOSE and LAKELINK_STEP_DISCARD conn's handle is invalid
 * from the start on, as after lakelink_close. LAKELINK_STEP_CANCEL may
 * start while another call runs on conn (it is how to cancel it). */
int32_t lakelink_session_start(uint64_t queue, uint64_t conn, int32_t step, uint64_t *call_out, lakelink_error **err);

/* Start the bulk calls: lakelink_execute_many (collect with
 * lakelink_call_count), lakelink_copy_from and lakelink_copy_to
 * (lakelink_call_handle: the COPY's handle), lakelink_copy_write and
 * lakelink_copy_write_rows (lakelink_call_done), lakelink_copy_read
 * (lakelink_call_batch: the chunk, NULL at the end) and lakelink_copy_end
 * (lakelink_call_count: the rows copied; copy's handle is invalid from the
 * start on). Start each call on a COPY once the previous one completed. */
int32_t lakelink_execute_many_start(uint64_t queue, uint64_t conn, const char *sql, const uint8_t *rows,
                                    int64_t rows_len, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_copy_from_start(uint64_t queue, uint64_t conn, const char *sql, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_copy_to_start(uint64_t queue, uint64_t conn, const char *sql, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_copy_write_start(uint64_t queue, uint64_t copy, const uint8_t *data, int64_t len, uint64_t *call_out,
                                  lakelink_error **err);
int32_t lakelink_copy_write_rows_start(uint64_t queue, uint64_t copy, const char *format, const uint8_t *rows,
                                       int64_t rows_len, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_copy_read_start(uint64_t queue, uint64_t copy, uint64_t *call_out, lakelink_error **err);
int32_t lakelink_copy_end_start(uint64_t queue, uint64_t copy, const char *abort_reason, uint64_t *call_out,
                                lakelink_error **err);

/* Starts lakelink_token: collect with lakelink_call_token. */
int32_t lakelink_token_start(uint64_t queue, const char *conn_str, uint64_t *call_out, lakelink_error **err);

/* Starts lakelink_app_request: collect with lakelink_call_app_response. */
int32_t lakelink_app_request_start(uint64_t queue, const char *conn_str, const char *app_url, const char *method,
                                   const char *url, const char *headers_json, const uint8_t *body, int64_t body_len,
                                   uint64_t *call_out, lakelink_error **err);

/* Waits at most timeout_us microseconds for call to complete, on the
 * calling thread: it looks for 100 microseconds (yielding the CPU between
 * looks), then sleeps until the call completes or the time is up; *done_out
 * is 1 if it completed, else 0. A loop with nothing else to do calls it
 * right after starting a call that may be quick (a short statement), and
 * collects at once when *done_out is 1: no wake-up through the queue (a
 * call that completes while it waits is not queued; one that had completed
 * before may have been: take it as usual). */
int32_t lakelink_call_wait(uint64_t call, int32_t timeout_us, int32_t *done_out, lakelink_error **err);

/* Collecting (each waits for the call if it has not completed, and
 * invalidates its handle). The outputs are the blocking function's:
 *   lakelink_call_done          a step: the status only
 *   lakelink_call_handle        the connection, pool or COPY handle opened
 *   lakelink_call_query         lakelink_query's outputs
 *   lakelink_call_batch         lakelink_result_next_batch's (lakelink_copy_read's)
 *   lakelink_call_count         lakelink_execute_many's or lakelink_copy_end's rows (count_out may be NULL)
 *   lakelink_call_token         lakelink_token's (expires_out may be NULL)
 *   lakelink_call_app_response  lakelink_app_request's (set on an HTTP failure too) */
int32_t lakelink_call_done(uint64_t call, lakelink_error **err);
int32_t lakelink_call_handle(uint64_t call, uint64_t *handle_out, lakelink_error **err);
int32_t lakelink_call_query(uint64_t call, char **columns_json_out, uint8_t **batch_out, int64_t *len_out,
                            char **command_tag_out, int64_t *rows_affected_out, uint64_t *result_out,
                            lakelink_error **err);
int32_t lakelink_call_batch(uint64_t call, uint8_t **batch_out, int64_t *len_out, lakelink_error **err);
int32_t lakelink_call_count(uint64_t call, int64_t *count_out, lakelink_error **err);
int32_t lakelink_call_token(uint64_t call, char **token_out, int64_t *expires_out, lakelink_error **err);
int32_t lakelink_call_app_response(uint64_t call, int32_t *status_out, char **headers_out, uint8_t **body_out,
                                   int64_t *body_len_out, lakelink_error **err);

#endif /* LAKELINK_TYPES_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* LAKELINK_H */
