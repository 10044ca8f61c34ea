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

// An op is an export's operation, its arguments read and checked: a
// blocking export runs it at once (run) and its _start twin starts it on a
// queue (start). Its answer is what the op's writer (setHandle, setQuery,
// ...) stores in the blocking export's outputs, which the lakelink_call_*
// export collecting a _start call shares.
type op func() (any, error)

// run runs the op made with error err at once.
func run(o op, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return o()
}

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
		t, err := run(tokenOp(connStr))
		if err != nil {
			return err
		}
		return setToken(tokenOut, expiresOut, t)
	})
}

// tokenOp reads lakelink_token's arguments.
func tokenOp(connStr *C.char) (op, error) {
	conn, err := connArg(connStr)
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return operations.GetToken(context.Background(), conn) }, nil
}

// setToken stores a token op's answer in lakelink_token's outputs
// (expires_at_out may be NULL).
func setToken(tokenOut **C.char, expiresOut *C.int64_t, v any) error {
	t, ok := v.(*ops.Token)
	if !ok {
		return &ops.HandleError{Message: "the call is not a token's"}
	}
	setString(tokenOut, t.AccessToken)
	if expiresOut != nil {
		*expiresOut = C.int64_t(t.ExpiresAt.Unix())
	}
	return nil
}

//export lakelink_app_request
func lakelink_app_request(connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t, bodyLen C.int64_t,
	statusOut *C.int32_t, headersOut **C.char, bodyOut **C.uint8_t, bodyLenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(statusOut, "status_out"), notNull(headersOut, "headers_out"),
			notNull(bodyOut, "body_out"), notNull(bodyLenOut, "body_len_out")); err != nil {
			return err
		}
		a, err := run(appRequestOp(connStr, appURL, method, url, headersJSON, body, bodyLen))
		if err != nil {
			return err
		}
		return setAppResponse(a, statusOut, headersOut, bodyOut, bodyLenOut)
	})
}

// appRequestOp reads lakelink_app_request's arguments. Its answer is an
// appAnswer: the response goes out with the request's error.
func appRequestOp(connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t, bodyLen C.int64_t) (op, error) {
	var r ops.AppRequest
	var err error
	if err = errors.Join(stringArg(&r.Conn, connStr, "conn_str"), stringArg(&r.AppURL, appURL, "app_url"),
		stringArg(&r.Method, method, "method"), stringArg(&r.URL, url, "url")); err != nil {
		return nil, err
	}
	if r.Body, err = goBytes(body, bodyLen, "body"); err != nil {
		return nil, err
	}
	if err = jsonArg(&r.Headers, headersJSON, "headers_json", headersForm, false); err != nil {
		return nil, err
	}
	return func() (any, error) {
		resp, err := operations.CallApp(context.Background(), r)
		return appAnswer{resp, err}, nil
	}, nil
}

// appAnswer is an app request op's answer.
type appAnswer struct {
	resp *ops.AppResponse
	err  error
}

// setAppResponse stores an app request op's answer in lakelink_app_request's
// outputs (also on an HTTP failure: the app's body may explain) and returns
// the request's error.
func setAppResponse(v any, statusOut *C.int32_t, headersOut **C.char, bodyOut **C.uint8_t, bodyLenOut *C.int64_t) error {
	a, ok := v.(appAnswer)
	if !ok {
		return &ops.HandleError{Message: "the call is not an app request"}
	}
	if a.resp != nil {
		*statusOut = C.int32_t(a.resp.Status)
		if err := setJSON(headersOut, a.resp.Headers); err != nil {
			return err
		}
		setBytes(bodyOut, bodyLenOut, a.resp.Body)
	}
	return a.err
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
		h, err := run(connectOp(connStr))
		if err != nil {
			return err
		}
		return setHandle(connOut, h)
	})
}

// connectOp reads lakelink_connect's arguments.
func connectOp(connStr *C.char) (op, error) {
	conn, err := connArg(connStr)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		c, err := operations.Connect(context.Background(), conn)
		return handleOf(kindConnection, c, err)
	}, nil
}

// handleOf is the answer of an op that opens v, or fails with err: a new
// handle of kind for v.
func handleOf[T any](kind handleKind, v *T, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return newHandle(kind, v), nil
}

// setHandle stores the answer of an op that opens a handle in *out.
func setHandle(out *C.uint64_t, v any) error {
	h, ok := v.(uint64)
	if !ok {
		return &ops.HandleError{Message: "the call is not one that opens a handle"}
	}
	*out = C.uint64_t(h)
	return nil
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
		if err := queryOutputs(columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut); err != nil {
			return err
		}
		a, err := run(queryOp(conn, sql, params, paramsLen, maxRows, format))
		if err != nil {
			return err
		}
		return setQuery(a, columnsOut, batchOut, lenOut, tagOut, rowsOut, resultOut)
	})
}

// queryOp reads lakelink_query's arguments. Its answer is a queryAnswer.
func queryOp(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t, maxRows C.int32_t,
	format *C.char) (op, error) {
	b, err := batch(maxRows, format)
	if err != nil {
		return nil, err
	}
	c, s, err := statement(conn, sql, params, paramsLen)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		first, err := ops.Query(context.Background(), c, s, b)
		if err != nil {
			return nil, err
		}
		var h uint64
		if first.Result != nil {
			h = newHandle(kindResult, first.Result)
		}
		return queryAnswer{first, h}, nil
	}, nil
}

// queryAnswer is a query op's answer.
type queryAnswer struct {
	first  *ops.FirstBatch
	result uint64 // the open result's handle, or 0
}

// queryOutputs checks lakelink_query's output pointers.
func queryOutputs(columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char,
	rowsOut *C.int64_t, resultOut *C.uint64_t) error {
	return errors.Join(notNull(columnsOut, "columns_json_out"), notNull(batchOut, "batch_out"),
		notNull(lenOut, "len_out"), notNull(tagOut, "command_tag_out"), notNull(rowsOut, "rows_affected_out"),
		notNull(resultOut, "result_out"))
}

// setQuery stores a query op's answer in lakelink_query's outputs.
func setQuery(v any, columnsOut **C.char, batchOut **C.uint8_t, lenOut *C.int64_t, tagOut **C.char,
	rowsOut *C.int64_t, resultOut *C.uint64_t) error {
	a, ok := v.(queryAnswer)
	if !ok {
		return &ops.HandleError{Message: "the call is not a query"}
	}
	if err := setJSON(columnsOut, a.first.Columns); err != nil {
		return err
	}
	setBytes(batchOut, lenOut, a.first.Batch)
	setString(tagOut, a.first.CommandTag)
	*rowsOut = C.int64_t(a.first.RowsAffected)
	*resultOut = C.uint64_t(a.result)
	return nil
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
		data, err := run(nextBatchOp(res, maxRows, format))
		if err != nil {
			return err
		}
		return setBatch(batchOut, lenOut, data)
	})
}

// nextBatchOp reads lakelink_result_next_batch's arguments.
func nextBatchOp(res C.uint64_t, maxRows C.int32_t, format *C.char) (op, error) {
	r, err := result(res)
	if err != nil {
		return nil, err
	}
	b, err := batch(maxRows, format)
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return ops.NextBatch(r, b) }, nil
}

// setBatch stores the answer of an op that reads bytes (a batch, a COPY's
// data; nil at the end) in *out and *n.
func setBatch(out **C.uint8_t, n *C.int64_t, v any) error {
	data, ok := v.([]byte)
	if !ok && v != nil {
		return &ops.HandleError{Message: "the call is not a batch"}
	}
	setBytes(out, n, data)
	return nil
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
		_, err := run(resultCloseOp(res))
		return err
	})
}

// resultCloseOp reads lakelink_result_close's argument, invalidating the
// handle.
func resultCloseOp(res C.uint64_t) (op, error) {
	v, err := lookup(uint64(res), kindResult, true)
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return nil, ops.CloseResult(v.(*lakebase.Result)) }, nil
}

// onConnection runs a step (LAKELINK_STEP_*) on conn at once.
func onConnection(conn C.uint64_t, step C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		_, err := run(sessionOp(conn, step))
		return err
	})
}

// sessionOp reads the arguments of a step (LAKELINK_STEP_*) on conn.
// Closing and discarding invalidate the handle.
func sessionOp(conn C.uint64_t, step C.int32_t) (op, error) {
	ctx := context.Background()
	var do func(*lakebase.Conn) error
	switch step {
	case C.LAKELINK_STEP_BEGIN:
		do = func(c *lakebase.Conn) error { return c.Begin(ctx) }
	case C.LAKELINK_STEP_COMMIT:
		do = func(c *lakebase.Conn) error { return c.Commit(ctx) }
	case C.LAKELINK_STEP_ROLLBACK:
		do = func(c *lakebase.Conn) error { return c.Rollback(ctx) }
	case C.LAKELINK_STEP_CANCEL:
		do = func(c *lakebase.Conn) error { return c.Cancel(ctx) }
	case C.LAKELINK_STEP_AUTOCOMMIT_ON, C.LAKELINK_STEP_AUTOCOMMIT_OFF:
		on := step == C.LAKELINK_STEP_AUTOCOMMIT_ON
		do = func(c *lakebase.Conn) error { return c.SetAutocommit(on) }
	case C.LAKELINK_STEP_CLOSE, C.LAKELINK_STEP_DISCARD:
		v, err := lookup(uint64(conn), kindConnection, true)
		if err != nil {
			return nil, err
		}
		c := v.(*lakebase.Conn)
		if step == C.LAKELINK_STEP_DISCARD {
			return func() (any, error) { return nil, ops.Discard(c) }, nil
		}
		return func() (any, error) { return nil, ops.OnSession(c, (*lakebase.Conn).Close) }, nil
	default:
		return nil, &ops.ArgumentError{Message: "step: not a LAKELINK_STEP_* value"}
	}
	c, err := connection(conn)
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return nil, ops.OnSession(c, do) }, nil
}

//export lakelink_set_autocommit
func lakelink_set_autocommit(conn C.uint64_t, on C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		step := C.int32_t(C.LAKELINK_STEP_AUTOCOMMIT_ON)
		if on == 0 {
			step = C.LAKELINK_STEP_AUTOCOMMIT_OFF
		}
		_, err := run(sessionOp(conn, step))
		return err
	})
}

//export lakelink_begin
func lakelink_begin(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_BEGIN, errOut)
}

//export lakelink_commit
func lakelink_commit(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_COMMIT, errOut)
}

//export lakelink_rollback
func lakelink_rollback(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_ROLLBACK, errOut)
}

//export lakelink_cancel
func lakelink_cancel(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_CANCEL, errOut)
}

//export lakelink_close
func lakelink_close(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_CLOSE, errOut)
}

//export lakelink_discard
func lakelink_discard(conn C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return onConnection(conn, C.LAKELINK_STEP_DISCARD, errOut)
}

//export lakelink_session_idle
func lakelink_session_idle(conn C.uint64_t, idleOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(idleOut, "idle_out"); err != nil {
			return err
		}
		c, err := connection(conn)
		if err != nil {
			return err
		}
		*idleOut = 0
		if ops.SessionIdle(c) {
			*idleOut = 1
		}
		return nil
	})
}

//export lakelink_execute_many
func lakelink_execute_many(conn C.uint64_t, sql *C.char, rows *C.uint8_t, rowsLen C.int64_t, rowsOut *C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		n, err := run(executeManyOp(conn, sql, rows, rowsLen))
		if err != nil {
			return err
		}
		return setCount(rowsOut, n)
	})
}

// executeManyOp reads lakelink_execute_many's arguments.
func executeManyOp(conn C.uint64_t, sql *C.char, rows *C.uint8_t, rowsLen C.int64_t) (op, error) {
	c, s, err := statement(conn, sql, rows, rowsLen)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		return ops.ExecuteMany(context.Background(), c, ops.Many{SQL: s.SQL, Rows: s.Params})
	}, nil
}

// setCount stores the answer of an op that counts rows in *out (when not
// NULL).
func setCount(out *C.int64_t, v any) error {
	n, ok := v.(int64)
	if !ok {
		return &ops.HandleError{Message: "the call is not one that counts rows"}
	}
	if out != nil {
		*out = C.int64_t(n)
	}
	return nil
}

//export lakelink_copy_from
func lakelink_copy_from(conn C.uint64_t, sql *C.char, copyOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(copyOut, "copy_out"); err != nil {
			return err
		}
		h, err := run(copyFromOp(conn, sql))
		if err != nil {
			return err
		}
		return setHandle(copyOut, h)
	})
}

// copyFromOp reads lakelink_copy_from's arguments.
func copyFromOp(conn C.uint64_t, sql *C.char) (op, error) {
	c, s, err := statement(conn, sql, nil, 0)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		w, err := ops.StartCopyFrom(context.Background(), c, s.SQL)
		return handleOf(kindCopyFrom, w, err)
	}, nil
}

//export lakelink_copy_from_socket
func lakelink_copy_from_socket(conn C.uint64_t, sql *C.char, fdOut *C.int32_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(fdOut, "fd_out"); err != nil {
			return err
		}
		c, s, err := statement(conn, sql, nil, 0)
		if err != nil {
			return err
		}
		fd, err := ops.OpenCopyFromSocket(context.Background(), c, s.SQL)
		if err != nil {
			return err
		}
		*fdOut = C.int32_t(fd)
		return nil
	})
}

//export lakelink_copy_write
func lakelink_copy_write(copyH C.uint64_t, data *C.uint8_t, dataLen C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		_, err := run(copyWriteOp(copyH, data, dataLen))
		return err
	})
}

// copyWriteOp reads lakelink_copy_write's arguments.
func copyWriteOp(copyH C.uint64_t, data *C.uint8_t, dataLen C.int64_t) (op, error) {
	w, err := copyFrom(copyH)
	if err != nil {
		return nil, err
	}
	b, err := goBytes(data, dataLen, "data")
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return nil, ops.CopyWrite(w, b) }, nil
}

//export lakelink_copy_write_rows
func lakelink_copy_write_rows(copyH C.uint64_t, format *C.char, rows *C.uint8_t, rowsLen C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		_, err := run(copyWriteRowsOp(copyH, format, rows, rowsLen))
		return err
	})
}

// copyWriteRowsOp reads lakelink_copy_write_rows's arguments.
func copyWriteRowsOp(copyH C.uint64_t, format *C.char, rows *C.uint8_t, rowsLen C.int64_t) (op, error) {
	w, err := copyFrom(copyH)
	if err != nil {
		return nil, err
	}
	f, err := optString(format, "format")
	if err != nil {
		return nil, err
	}
	b, err := goBytes(rows, rowsLen, "rows")
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return nil, ops.CopyWriteRows(w, f, b) }, nil
}

//export lakelink_copy_to
func lakelink_copy_to(conn C.uint64_t, sql *C.char, copyOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(copyOut, "copy_out"); err != nil {
			return err
		}
		h, err := run(copyToOp(conn, sql))
		if err != nil {
			return err
		}
		return setHandle(copyOut, h)
	})
}

// copyToOp reads lakelink_copy_to's arguments.
func copyToOp(conn C.uint64_t, sql *C.char) (op, error) {
	c, s, err := statement(conn, sql, nil, 0)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		o, err := ops.StartCopyTo(context.Background(), c, s.SQL)
		return handleOf(kindCopyTo, o, err)
	}, nil
}

//export lakelink_copy_read
func lakelink_copy_read(copyH C.uint64_t, dataOut **C.uint8_t, lenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := errors.Join(notNull(dataOut, "data_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		data, err := run(copyReadOp(copyH))
		if err != nil {
			return err
		}
		return setBatch(dataOut, lenOut, data)
	})
}

// copyReadOp reads lakelink_copy_read's argument.
func copyReadOp(copyH C.uint64_t) (op, error) {
	o, err := copyTo(copyH)
	if err != nil {
		return nil, err
	}
	return func() (any, error) { return ops.CopyRead(o) }, nil
}

//export lakelink_copy_end
func lakelink_copy_end(copyH C.uint64_t, abortReason *C.char, rowsOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		n, err := run(copyEndOp(copyH, abortReason))
		if err != nil {
			return err
		}
		return setCount(rowsOut, n)
	})
}

// copyEndOp reads lakelink_copy_end's arguments, invalidating the handle.
// Its answer is the rows copied.
func copyEndOp(copyH C.uint64_t, abortReason *C.char) (op, error) {
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
	return func() (any, error) {
		switch x := v.(type) {
		case *lakebase.CopyIn:
			return ops.EndCopyFrom(x, reason)
		case *lakebase.CopyOut:
			return ops.EndCopyTo(x)
		}
		return int64(0), nil
	}, nil
}

//export lakelink_pool_open
func lakelink_pool_open(connStr *C.char, poolOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(poolOut, "pool_out"); err != nil {
			return err
		}
		h, err := run(poolOpenOp(connStr))
		if err != nil {
			return err
		}
		return setHandle(poolOut, h)
	})
}

// poolOpenOp reads lakelink_pool_open's arguments.
func poolOpenOp(connStr *C.char) (op, error) {
	conn, err := connArg(connStr)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		p, err := operations.OpenPool(context.Background(), conn)
		return handleOf(kindPool, p, err)
	}, nil
}

//export lakelink_pool_acquire
func lakelink_pool_acquire(poolH C.uint64_t, userToken *C.char, connOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, func() error {
		if err := notNull(connOut, "conn_out"); err != nil {
			return err
		}
		h, err := run(poolAcquireOp(poolH, userToken))
		if err != nil {
			return err
		}
		return setHandle(connOut, h)
	})
}

// poolAcquireOp reads lakelink_pool_acquire's arguments.
func poolAcquireOp(poolH C.uint64_t, userToken *C.char) (op, error) {
	p, err := pool(poolH)
	if err != nil {
		return nil, err
	}
	token, err := userTokenArg(userToken)
	if err != nil {
		return nil, err
	}
	return func() (any, error) {
		c, err := ops.Acquire(context.Background(), p, token)
		return handleOf(kindConnection, c, err)
	}, nil
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
