'use strict'
// The binding's view of lakelink.h: its ABI version, the lakelink_error
// structure, and the C prototypes the binding calls, shared by the main
// thread (lib/native.js) and the caller threads (lib/caller.js). The status
// codes are in lib/errors.js. test/abi.test.js checks all of them against
// capi/lakelink.h.
//
// Out-parameters are `_Out_ void **` (a pointer the library allocated,
// freed with lakelink_free) or `_Out_ <int> *`; koffi fills a one-element
// array.

/** LAKELINK_ABI_VERSION: the library must report the same from lakelink_abi_version. */
const ABI_VERSION = 4

/** struct lakelink_error's fields in order, as koffi types. */
const ERROR_FIELDS = {
  code: 'int32_t',
  message: 'const char *',
  sqlstate: 'const char *',
  diagnosis: 'const char *',
  http_status: 'int32_t',
  kind: 'const char *',
  detail: 'const char *', // appended to the struct after kind (lakelink.h)
  hint: 'const char *'
}

const PROTOTYPES = [
  'const char *lakelink_version()',
  'int32_t lakelink_abi_version()',
  'int32_t lakelink_set_user_agent(const char *user_agent, _Out_ void **err)',
  'void lakelink_free(void *p)',
  'void lakelink_error_free(void *err)',
  'int32_t lakelink_connstr_normalize(const char *conn_str, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_connstr_merge(const char *conn_str, const char *overrides_json, _Out_ void **out, _Out_ void **err)',
  'int32_t lakelink_token(const char *conn_str, _Out_ void **token_out, _Out_ int64_t *expires_out, _Out_ void **err)',
  'int32_t lakelink_app_authorize_reusable(const char *conn_str, const char *app_url, const char *method, const char *url, ' +
    '_Out_ void **url_out, _Out_ void **authorization_out, _Out_ int64_t *reuse_ms_out, _Out_ void **user_agent_out, _Out_ void **err)',
  'int32_t lakelink_app_diagnose(const char *conn_str, const char *method, const char *url, const char *sent_authorization, ' +
    'int32_t status, const char *headers_json, const uint8_t *body, int64_t body_len, const char *network_error, _Out_ void **err)',
  'int32_t lakelink_oauth_authorization_url(const char *conn_str, const char *callback_url, const char *scope, ' +
    'const char *state, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_oauth_access_token(const char *conn_str, const char *verifier, const char *auth_mode, ' +
    'const char *callback_url, const char *state, const char *pkce_verifier, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_oauth_refresh(const char *conn_str, const char *refresh_token, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_lakebase_credential(const char *conn_str, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_connect(const char *conn_str, _Out_ uint64_t *conn_out, _Out_ void **err)',
  'int32_t lakelink_pool_open(const char *conn_str, _Out_ uint64_t *pool_out, _Out_ void **err)',
  'int32_t lakelink_pool_acquire(uint64_t pool, const char *user_token, _Out_ uint64_t *conn_out, _Out_ void **err)',
  'int32_t lakelink_pool_stats(uint64_t pool, _Out_ void **json_out, _Out_ void **err)',
  'int32_t lakelink_pool_close(uint64_t pool, _Out_ void **err)',
  'int32_t lakelink_query(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len, int32_t max_rows, ' +
    'const char *format, _Out_ void **columns_json_out, _Out_ void **batch_out, _Out_ int64_t *len_out, ' +
    '_Out_ void **command_tag_out, _Out_ int64_t *rows_affected_out, _Out_ uint64_t *result_out, _Out_ void **err)',
  'int32_t lakelink_session_socket(uint64_t conn, _Out_ int32_t *fd_out, _Out_ void **err)',
  'int32_t lakelink_query_send(uint64_t conn, const char *sql, const uint8_t *params, int64_t params_len, ' +
    '_Out_ int32_t *sending_out, _Out_ void **err)',
  'int32_t lakelink_query_prepare(uint64_t conn, const char *sql, _Out_ void **err)',
  'int32_t lakelink_query_feed(uint64_t conn, const uint8_t *data, int64_t data_len, _Out_ int32_t *feeding_out, ' +
    '_Out_ void **err)',
  'int32_t lakelink_query_receive(uint64_t conn, int32_t max_rows, const char *format, _Out_ void **columns_json_out, ' +
    '_Out_ void **batch_out, _Out_ int64_t *len_out, _Out_ void **command_tag_out, _Out_ int64_t *rows_affected_out, ' +
    '_Out_ uint64_t *result_out, _Out_ void **err)',
  'int32_t lakelink_pool_pipeline(uint64_t pool, const char *user_token, const uint8_t *statements, ' +
    'int64_t statements_len, int32_t max_rows, const char *format, _Out_ void **answers_out, _Out_ int64_t *len_out, ' +
    '_Out_ void **err)',
  'int32_t lakelink_pipeline_channel_open(_Out_ int32_t *fd_out, _Out_ void **err)',
  'int32_t lakelink_copy_from_socket(uint64_t conn, const char *sql, _Out_ int32_t *fd_out, _Out_ void **err)',
  'int32_t lakelink_result_next_batch(uint64_t result, int32_t max_rows, const char *format, _Out_ void **batch_out, ' +
    '_Out_ int64_t *len_out, _Out_ void **err)',
  'int32_t lakelink_result_status(uint64_t result, _Out_ void **command_tag_out, _Out_ int64_t *rows_affected_out, ' +
    '_Out_ void **err)',
  'int32_t lakelink_result_close(uint64_t result, _Out_ void **err)',
  'int32_t lakelink_begin(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_commit(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_rollback(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_cancel(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_close(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_discard(uint64_t conn, _Out_ void **err)',
  'int32_t lakelink_copy_from(uint64_t conn, const char *sql, _Out_ uint64_t *copy_out, _Out_ void **err)',
  'int32_t lakelink_copy_write(uint64_t copy, const uint8_t *data, int64_t len, _Out_ void **err)',
  'int32_t lakelink_copy_to(uint64_t conn, const char *sql, _Out_ uint64_t *copy_out, _Out_ void **err)',
  'int32_t lakelink_copy_read(uint64_t copy, _Out_ void **data_out, _Out_ int64_t *len_out, _Out_ void **err)',
  'int32_t lakelink_copy_end(uint64_t copy, const char *abort_reason, _Out_ int64_t *rows_out, _Out_ void **err)'
]

/** The function's name in a prototype, without the lakelink_ prefix. */
function nameOf (proto) {
  return /lakelink_(\w+)\(/.exec(proto)[1]
}

/**
 * The kinds of a prototype's parameters, as lib/caller.js passes them
 * between threads: 'string' (const char *), 'bytes' (const uint8_t *),
 * 'int' (a signed integer), 'uint' (uint64_t), 'out' (an out-pointer to a
 * pointer), 'outint' and 'outuint' (out-pointers to an int32_t or int64_t, and a
 * uint64_t); null for the free functions, which take raw pointers (and
 * never leave the calling thread).
 */
function paramKinds (proto) {
  if (/\(void \*\w+\)$/.test(proto)) return null
  const list = /\((.*)\)/.exec(proto)[1].trim()
  if (!list) return []
  return list.split(',').map((p) => {
    p = p.trim()
    if (p.startsWith('_Out_ void **')) return 'out'
    if (p.startsWith('_Out_ uint64_t *')) return 'outuint'
    if (/^_Out_ int(32|64)_t \*/.test(p)) return 'outint'
    if (p.startsWith('const char *')) return 'string'
    if (p.startsWith('const uint8_t *')) return 'bytes'
    if (p.startsWith('uint64_t ')) return 'uint'
    if (/^int(32|64)_t /.test(p)) return 'int'
    throw new Error(`lakelink: no kind for parameter ${p} of ${proto}`)
  })
}

module.exports = { ABI_VERSION, ERROR_FIELDS, PROTOTYPES, nameOf, paramKinds }
