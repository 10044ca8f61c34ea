package main

/*
#include <stdlib.h>
#include "lakelink.h"
*/
import "C"

import (
	"context"
	"errors"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/internal/ops"
)

// version is the library's version (the VERSION file beside go.mod).
var version = lakelink.Version()

// process is the library's one configuration. Every caller of this
// library is a thread of another runtime, so sessions wait for the
// server's answers on it (see lakebase.Config.ThreadWait).
var process = &lakebase.Config{Auth: &auth.Config{}, ThreadWait: true}

// operations are internal/ops's operations run with process.
var operations = ops.Ops{Config: process}

// cVersion is version as a C string that lives as long as the process.
var cVersion = C.CString(version)

//export lakelink_version
func lakelink_version() *C.char { return cVersion }

//export lakelink_abi_version
func lakelink_abi_version() C.int32_t { return C.LAKELINK_ABI_VERSION }

//export lakelink_set_user_agent
func lakelink_set_user_agent(userAgent *C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		ua, err := goString(userAgent, "user_agent")
		if err != nil {
			return err
		}
		return operations.SetUserAgent(context.Background(), ua)
	})
}

//export lakelink_connstr_normalize
func lakelink_connstr_normalize(connStr *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		n, err := ops.Normalize(context.Background(), conn)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, n)
	})
}

//export lakelink_connstr_merge
func lakelink_connstr_merge(connStr, overridesJSON *C.char, out **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(out, "out"); err != nil {
			return err
		}
		var r ops.Merge
		if err := errors.Join(stringArg(&r.Conn, connStr, "conn_str"),
			jsonArg(&r.Overrides, overridesJSON, "overrides_json", "a JSON object of strings or nulls", true)); err != nil {
			return err
		}
		merged, err := ops.Merged(context.Background(), r)
		if err != nil {
			return err
		}
		setString(out, merged)
		return nil
	})
}

//export lakelink_token
func lakelink_token(connStr *C.char, tokenOut **C.char, expiresOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(tokenOut, "token_out"); err != nil {
			return err
		}
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		t, err := operations.GetToken(context.Background(), conn)
		if err != nil {
			return err
		}
		setString(tokenOut, t.AccessToken)
		if expiresOut != nil {
			*expiresOut = C.int64_t(t.ExpiresAt.Unix())
		}
		return nil
	})
}

//export lakelink_app_request
func lakelink_app_request(connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t, bodyLen C.int64_t,
	statusOut *C.int32_t, headersOut **C.char, bodyOut **C.uint8_t, bodyLenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(statusOut, "status_out"), notNull(headersOut, "headers_out"),
			notNull(bodyOut, "body_out"), notNull(bodyLenOut, "body_len_out")); err != nil {
			return err
		}
		r, err := appRequestArgs(connStr, appURL, method, url, headersJSON, body, bodyLen)
		if err != nil {
			return err
		}
		resp, callErr := operations.CallApp(context.Background(), r)
		return setAppResponse(resp, callErr, statusOut, headersOut, bodyOut, bodyLenOut)
	})
}

// appRequestArgs reads lakelink_app_request's (and _start's) arguments.
func appRequestArgs(connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t, bodyLen C.int64_t) (ops.AppRequest, error) {
	var r ops.AppRequest
	var err error
	if err = errors.Join(stringArg(&r.Conn, connStr, "conn_str"), stringArg(&r.AppURL, appURL, "app_url"),
		stringArg(&r.Method, method, "method"), stringArg(&r.URL, url, "url")); err != nil {
		return r, err
	}
	if r.Body, err = goBytes(body, bodyLen, "body"); err != nil {
		return r, err
	}
	return r, jsonArg(&r.Headers, headersJSON, "headers_json", headersForm, false)
}

// setAppResponse sets an app request's outputs (also on an HTTP failure:
// the app's body may explain) and returns callErr.
func setAppResponse(resp *ops.AppResponse, callErr error, statusOut *C.int32_t, headersOut **C.char,
	bodyOut **C.uint8_t, bodyLenOut *C.int64_t) error {
	if resp != nil {
		*statusOut = C.int32_t(resp.Status)
		if err := setJSON(headersOut, resp.Headers); err != nil {
			return err
		}
		setBytes(bodyOut, bodyLenOut, resp.Body)
	}
	return callErr
}

//export lakelink_app_authorize
func lakelink_app_authorize(connStr, appURL, method, url *C.char, urlOut, authorizationOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(urlOut, "url_out"), notNull(authorizationOut, "authorization_out")); err != nil {
			return err
		}
		a, err := authorize(connStr, appURL, method, url)
		if err != nil {
			return err
		}
		setString(urlOut, a.URL)
		setString(authorizationOut, a.Authorization)
		return nil
	})
}

//export lakelink_app_authorize_reusable
func lakelink_app_authorize_reusable(connStr, appURL, method, url *C.char, urlOut, authorizationOut **C.char,
	reuseMsOut *C.int64_t, userAgentOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(urlOut, "url_out"), notNull(authorizationOut, "authorization_out"),
			notNull(reuseMsOut, "reuse_ms_out"), notNull(userAgentOut, "user_agent_out")); err != nil {
			return err
		}
		a, err := authorize(connStr, appURL, method, url)
		if err != nil {
			return err
		}
		setString(urlOut, a.URL)
		setString(authorizationOut, a.Authorization)
		*reuseMsOut = C.int64_t(a.ReuseMS)
		setString(userAgentOut, a.UserAgent)
		return nil
	})
}

// headersForm is what headers_json holds.
const headersForm = `a JSON object {"Name": "value" or ["value", ...]}`

// authorize is Ops.AuthorizeApp for the exports' arguments (method may be
// NULL).
func authorize(connStr, appURL, method, url *C.char) (*ops.Authorization, error) {
	var r ops.Authorize
	if err := errors.Join(stringArg(&r.Conn, connStr, "conn_str"), stringArg(&r.AppURL, appURL, "app_url"),
		optStringArg(&r.Method, method, "method"), stringArg(&r.URL, url, "url")); err != nil {
		return nil, err
	}
	return operations.AuthorizeApp(context.Background(), r)
}

//export lakelink_app_diagnose
func lakelink_app_diagnose(connStr, method, url, sentAuthorization *C.char, status C.int32_t, headersJSON *C.char,
	body *C.uint8_t, bodyLen C.int64_t, networkError *C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		r := ops.Diagnose{Status: int(status)}
		var err error
		if err = errors.Join(stringArg(&r.Conn, connStr, "conn_str"), optStringArg(&r.Method, method, "method"),
			stringArg(&r.URL, url, "url"), optStringArg(&r.SentAuthorization, sentAuthorization, "sent_authorization"),
			optStringArg(&r.NetworkError, networkError, "network_error")); err != nil {
			return err
		}
		if r.Body, err = goBytes(body, bodyLen, "body"); err != nil {
			return err
		}
		if err := jsonArg(&r.Headers, headersJSON, "headers_json", headersForm, false); err != nil {
			return err
		}
		_, err = operations.DiagnoseApp(context.Background(), r)
		return err
	})
}

//export lakelink_oauth_authorization_url
func lakelink_oauth_authorization_url(connStr, callbackURL, scope, state *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		var r ops.AuthorizationURLRequest
		if err := errors.Join(stringArg(&r.Conn, connStr, "conn_str"), optStringArg(&r.CallbackURL, callbackURL, "callback_url"),
			optStringArg(&r.Scope, scope, "scope"), optStringArg(&r.State, state, "state")); err != nil {
			return err
		}
		a, err := operations.GetAuthorizationURL(context.Background(), r)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, a)
	})
}

//export lakelink_oauth_access_token
func lakelink_oauth_access_token(connStr, verifier, authMode, callbackURL, state, pkceVerifier *C.char,
	jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		var r ops.AccessTokenRequest
		if err := errors.Join(stringArg(&r.Conn, connStr, "conn_str"), optStringArg(&r.Verifier, verifier, "verifier"),
			optStringArg(&r.AuthMode, authMode, "auth_mode"), optStringArg(&r.CallbackURL, callbackURL, "callback_url"),
			optStringArg(&r.State, state, "state"), optStringArg(&r.PKCEVerifier, pkceVerifier, "pkce_verifier")); err != nil {
			return err
		}
		t, err := operations.GetAccessToken(context.Background(), r)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, t)
	})
}

//export lakelink_oauth_refresh
func lakelink_oauth_refresh(connStr, refreshToken *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		var r ops.RefreshRequest
		if err := errors.Join(stringArg(&r.Conn, connStr, "conn_str"), optStringArg(&r.RefreshToken, refreshToken, "refresh_token")); err != nil {
			return err
		}
		t, err := operations.RefreshAccessToken(context.Background(), r)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, t)
	})
}

//export lakelink_lakebase_credential
func lakelink_lakebase_credential(connStr *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		c, err := operations.GetCredential(context.Background(), conn)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, c)
	})
}

//export lakelink_connect
func lakelink_connect(connStr *C.char, connOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(connOut, "conn_out"); err != nil {
			return err
		}
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		c, err := operations.Connect(context.Background(), conn)
		if err != nil {
			return err
		}
		*connOut = C.uint64_t(newHandle(kindConnection, c))
		return nil
	})
}

//export lakelink_execute
func lakelink_execute(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t, resultOut *C.uint64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(resultOut, "result_out"); err != nil {
			return err
		}
		c, s, err := statement(conn, sql, params, paramsLen)
		if err != nil {
			return err
		}
		r, err := ops.Execute(context.Background(), c, s)
		if err != nil {
			return err
		}
		*resultOut = C.uint64_t(newHandle(kindResult, r))
		return nil
	})
}

//export lakelink_query
func lakelink_query(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t, maxRows C.int32_t,
	format *C.char, columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char,
	rowsOut *C.int64_t, resultOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(columnsOut, "columns_json_out"), notNull(batchOut, "batch_out"),
			notNull(lenOut, "len_out"), notNull(tagOut, "command_tag_out"), notNull(rowsOut, "rows_affected_out"),
			notNull(resultOut, "result_out")); err != nil {
			return err
		}
		b, err := batch(maxRows, format)
		if err != nil {
			return err
		}
		c, s, err := statement(conn, sql, params, paramsLen)
		if err != nil {
			return err
		}
		first, err := ops.Query(context.Background(), c, s, b)
		if err != nil {
			return err
		}
		if err := setJSON(columnsOut, first.Columns); err != nil {
			return err
		}
		var handle uint64
		if first.Result != nil {
			handle = newHandle(kindResult, first.Result)
		}
		setBytes(batchOut, lenOut, first.Batch)
		setString(tagOut, first.CommandTag)
		*rowsOut = C.int64_t(first.RowsAffected)
		*resultOut = C.uint64_t(handle)
		return nil
	})
}

// statement reads lakelink_execute's and lakelink_query's arguments.
func statement(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t) (*lakebase.Conn, ops.Statement, error) {
	var s ops.Statement
	c, err := connection(conn)
	if err != nil {
		return nil, s, err
	}
	if s.SQL, err = goString(sql, "sql"); err != nil {
		return nil, s, err
	}
	if s.Params, err = goBytes(params, paramsLen, "params"); err != nil {
		return nil, s, err
	}
	return c, s, nil
}

// batch reads max_rows and format (NULL or "": the default).
func batch(maxRows C.int32_t, format *C.char) (b ops.Batch, err error) {
	b.MaxRows = int(maxRows)
	b.Format, err = optString(format, "format")
	return b, err
}

//export lakelink_result_columns
func lakelink_result_columns(res C.uint64_t, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		r, err := result(res)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, ops.Columns(r))
	})
}

//export lakelink_result_next_batch
func lakelink_result_next_batch(res C.uint64_t, maxRows C.int32_t, format *C.char, batchOut **C.uint8_t, lenOut *C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(batchOut, "batch_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		r, err := result(res)
		if err != nil {
			return err
		}
		b, err := batch(maxRows, format)
		if err != nil {
			return err
		}
		data, err := ops.NextBatch(r, b)
		if err != nil {
			return err
		}
		setBytes(batchOut, lenOut, data)
		return nil
	})
}

//export lakelink_result_status
func lakelink_result_status(res C.uint64_t, tagOut **C.char, rowsOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		r, err := result(res)
		if err != nil {
			return err
		}
		if tagOut != nil {
			setString(tagOut, r.CommandTag())
		}
		if rowsOut != nil {
			*rowsOut = C.int64_t(r.RowsAffected())
		}
		return nil
	})
}

//export lakelink_result_close
func lakelink_result_close(res C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		v, err := lookup(uint64(res), kindResult, true)
		if err != nil {
			return err
		}
		return ops.CloseResult(v.(*lakebase.Result))
	})
}

// onConnection runs step on a live connection.
func onConnection(conn C.uint64_t, errOut **C.lakelink_error, step func(*lakebase.Conn) error) C.int32_t {
	return call(errOut, func() error {
		c, err := connection(conn)
		if err != nil {
			return err
		}
		return ops.OnSession(c, step)
	})
}

//export lakelink_set_autocommit
func lakelink_set_autocommit(conn C.uint64_t, on C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, errOut, func(c *lakebase.Conn) error { return c.SetAutocommit(on != 0) })
}

//export lakelink_begin
func lakelink_begin(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, errOut, func(c *lakebase.Conn) error { return c.Begin(context.Background()) })
}

//export lakelink_commit
func lakelink_commit(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, errOut, func(c *lakebase.Conn) error { return c.Commit(context.Background()) })
}

//export lakelink_rollback
func lakelink_rollback(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, errOut, func(c *lakebase.Conn) error { return c.Rollback(context.Background()) })
}

//export lakelink_cancel
func lakelink_cancel(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, errOut, func(c *lakebase.Conn) error { return c.Cancel(context.Background()) })
}

//export lakelink_close
func lakelink_close(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		return endConnection(conn, func(c *lakebase.Conn) error { return ops.OnSession(c, (*lakebase.Conn).Close) })
	})
}

//export lakelink_discard
func lakelink_discard(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error { return endConnection(conn, ops.Discard) })
}

//export lakelink_execute_many
func lakelink_execute_many(conn C.uint64_t, sql *C.char, rows *C.uint8_t, rowsLen C.int64_t, rowsOut *C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		c, s, err := statement(conn, sql, rows, rowsLen)
		if err != nil {
			return err
		}
		n, err := ops.ExecuteMany(context.Background(), c, ops.Many{SQL: s.SQL, Rows: s.Params})
		if err != nil {
			return err
		}
		if rowsOut != nil {
			*rowsOut = C.int64_t(n)
		}
		return nil
	})
}

//export lakelink_copy_from
func lakelink_copy_from(conn C.uint64_t, sql *C.char, copyOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(copyOut, "copy_out"); err != nil {
			return err
		}
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		w, err := ops.StartCopyFrom(context.Background(), c, s.SQL)
		if err != nil {
			return err
		}
		*copyOut = C.uint64_t(newHandle(kindCopyFrom, w))
		return nil
	})
}

//export lakelink_copy_write
func lakelink_copy_write(copyH C.uint64_t, data *C.uint8_t, dataLen C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		w, err := copyFrom(copyH)
		if err != nil {
			return err
		}
		b, err := goBytes(data, dataLen, "data")
		if err != nil {
			return err
		}
		return ops.CopyWrite(w, b)
	})
}

//export lakelink_copy_write_rows
func lakelink_copy_write_rows(copyH C.uint64_t, format *C.char, rows *C.uint8_t, rowsLen C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		w, err := copyFrom(copyH)
		if err != nil {
			return err
		}
		f, err := optString(format, "format")
		if err != nil {
			return err
		}
		b, err := goBytes(rows, rowsLen, "rows")
		if err != nil {
			return err
		}
		return ops.CopyWriteRows(w, f, b)
	})
}

//export lakelink_copy_to
func lakelink_copy_to(conn C.uint64_t, sql *C.char, copyOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(copyOut, "copy_out"); err != nil {
			return err
		}
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		o, err := ops.StartCopyTo(context.Background(), c, s.SQL)
		if err != nil {
			return err
		}
		*copyOut = C.uint64_t(newHandle(kindCopyTo, o))
		return nil
	})
}

//export lakelink_copy_read
func lakelink_copy_read(copyH C.uint64_t, dataOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(dataOut, "data_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		o, err := copyTo(copyH)
		if err != nil {
			return err
		}
		data, err := ops.CopyRead(o)
		if err != nil {
			return err
		}
		setBytes(dataOut, lenOut, data)
		return nil
	})
}

//export lakelink_copy_end
func lakelink_copy_end(copyH C.uint64_t, abortReason *C.char, rowsOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		end, err := copyEnd(copyH, abortReason)
		if err != nil {
			return err
		}
		n, err := end()
		if err != nil {
			return err
		}
		if rowsOut != nil {
			*rowsOut = C.int64_t(n)
		}
		return nil
	})
}

// copyEnd reads lakelink_copy_end's arguments, invalidating the handle,
// and returns the step that ends the COPY, giving the rows copied.
func copyEnd(copyH C.uint64_t, abortReason *C.char) (func() (int64, error), error) {
	var reason *string
	if abortReason != nil {
		r, err := goString(abortReason, "abort_reason")
		if err != nil {
			return nil, err
		}
		reason = &r
	}
	v, err := endCopy(copyH)
	if err != nil {
		return nil, err
	}
	return func() (int64, error) {
		switch x := v.(type) {
		case *lakebase.CopyIn:
			return ops.EndCopyFrom(x, reason)
		case *lakebase.CopyOut:
			return ops.EndCopyTo(x)
		}
		return 0, nil
	}, nil
}

// endConnection invalidates connection handle conn and ends its session
// with end.
func endConnection(conn C.uint64_t, end func(*lakebase.Conn) error) error {
	v, err := lookup(uint64(conn), kindConnection, true)
	if err != nil {
		return err
	}
	return end(v.(*lakebase.Conn))
}

//export lakelink_pool_open
func lakelink_pool_open(connStr *C.char, poolOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(poolOut, "pool_out"); err != nil {
			return err
		}
		conn, err := connArg(connStr)
		if err != nil {
			return err
		}
		p, err := operations.OpenPool(context.Background(), conn)
		if err != nil {
			return err
		}
		*poolOut = C.uint64_t(newHandle(kindPool, p))
		return nil
	})
}

//export lakelink_pool_acquire
func lakelink_pool_acquire(poolH C.uint64_t, userToken *C.char, connOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(connOut, "conn_out"); err != nil {
			return err
		}
		p, err := pool(poolH)
		if err != nil {
			return err
		}
		token, err := userTokenArg(userToken)
		if err != nil {
			return err
		}
		c, err := ops.Acquire(context.Background(), p, token)
		if err != nil {
			return err
		}
		*connOut = C.uint64_t(newHandle(kindConnection, c))
		return nil
	})
}

// userTokenArg reads a user_token argument: NULL for the pool's own
// sessions, never "".
func userTokenArg(userToken *C.char) (string, error) {
	token, err := optString(userToken, "user_token")
	if err == nil && userToken != nil && token == "" {
		err = &ops.ArgumentError{Message: "user_token is empty: pass NULL for the pool's own sessions"}
	}
	return token, err
}

//export lakelink_pool_stats
func lakelink_pool_stats(poolH C.uint64_t, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		p, err := pool(poolH)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, ops.Stats(p))
	})
}

//export lakelink_pool_close
func lakelink_pool_close(poolH C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		v, err := lookup(uint64(poolH), kindPool, true)
		if err != nil {
			return err
		}
		ops.ClosePool(v.(*lakebase.Pool))
		return nil
	})
}
