package main

/*
#include <stdlib.h>
#include "lakelink.h"
*/
import "C"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/failure"
	"github.com/lakelink/lakelink/core/lakebase"
)

// version is the library's version (the VERSION file beside go.mod).
var version = lakelink.Version()

// process is the library's one configuration. Every caller of this
// library is a thread of another runtime, so sessions wait for the
// server's answers on it (see lakebase.Config.ThreadWait).
var process = &lakebase.Config{Auth: &auth.Config{}, ThreadWait: true}

// cVersion is version as a C string that lives as long as the process.
var cVersion = C.CString(version)

//export lakelink_version
func lakelink_version() *C.char { return cVersion }

//export lakelink_abi_version
func lakelink_abi_version() C.int32_t { return C.LAKELINK_ABI_VERSION }

//export lakelink_connstr_normalize
func lakelink_connstr_normalize(connStr *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusConnectionString, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, map[string]any{"normalized": o.String(), "properties": o.Redacted()})
	})
}

//export lakelink_connstr_merge
func lakelink_connstr_merge(connStr, overridesJSON *C.char, out **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusConnectionString, func() error {
		if err := notNull(out, "out"); err != nil {
			return err
		}
		s, err := goString(connStr, "conn_str")
		if err != nil {
			return err
		}
		raw, err := goString(overridesJSON, "overrides_json")
		if err != nil {
			return err
		}
		var fields map[string]*string
		if err := json.Unmarshal([]byte(raw), &fields); err != nil {
			return &failure.ArgumentError{Message: "overrides_json is not a JSON object of strings or nulls: " + err.Error()}
		}
		merged, err := connstr.MergeNullable(s, fields)
		if err != nil {
			return err
		}
		setString(out, merged)
		return nil
	})
}

//export lakelink_token
func lakelink_token(connStr *C.char, tokenOut **C.char, expiresOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := notNull(tokenOut, "token_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		src, err := process.Auth.NewTokenSource(o)
		if err != nil {
			return err
		}
		tok, err := src.TokenContext(context.Background())
		if err != nil {
			return err
		}
		setString(tokenOut, tok.AccessToken)
		if expiresOut != nil {
			*expiresOut = 0
			if !tok.Expiry.IsZero() {
				*expiresOut = C.int64_t(tok.Expiry.Unix())
			}
		}
		return nil
	})
}

//export lakelink_app_request
func lakelink_app_request(connStr, appURL, method, url, headersJSON *C.char, body *C.uint8_t, bodyLen C.int64_t,
	statusOut *C.int32_t, headersOut **C.char, bodyOut **C.uint8_t, bodyLenOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := errors.Join(notNull(statusOut, "status_out"), notNull(headersOut, "headers_out"),
			notNull(bodyOut, "body_out"), notNull(bodyLenOut, "body_len_out")); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		a, err := goString(appURL, "app_url")
		if err != nil {
			return err
		}
		m, err := goString(method, "method")
		if err != nil {
			return err
		}
		u, err := goString(url, "url")
		if err != nil {
			return err
		}
		reqBody, err := goBytes(body, bodyLen, "body")
		if err != nil {
			return err
		}
		hj, err := optString(headersJSON, "headers_json")
		if err != nil {
			return err
		}
		header, err := headerOf(hj)
		if err != nil {
			return err
		}
		src, err := process.Auth.NewTokenSource(o)
		if err != nil {
			return err
		}
		app, err := apps.New(a, src)
		if err != nil {
			return err
		}
		resp, callErr := app.Do(context.Background(), m, u, bytes.NewReader(reqBody), header)
		if resp != nil {
			*statusOut = C.int32_t(resp.Status)
			if err := setJSON(headersOut, resp.Header); err != nil {
				return err
			}
			setBytes(bodyOut, bodyLenOut, resp.Body)
		}
		return callErr
	})
}

//export lakelink_app_authorize
func lakelink_app_authorize(connStr, appURL, method, url *C.char, urlOut, authorizationOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := errors.Join(notNull(urlOut, "url_out"), notNull(authorizationOut, "authorization_out")); err != nil {
			return err
		}
		authorization, target, _, err := authorize(connStr, appURL, method, url)
		if err != nil {
			return err
		}
		setString(urlOut, target)
		setString(authorizationOut, authorization)
		return nil
	})
}

//export lakelink_app_authorize_reusable
func lakelink_app_authorize_reusable(connStr, appURL, method, url *C.char, urlOut, authorizationOut **C.char,
	reuseMsOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := errors.Join(notNull(urlOut, "url_out"), notNull(authorizationOut, "authorization_out"),
			notNull(reuseMsOut, "reuse_ms_out")); err != nil {
			return err
		}
		authorization, target, until, err := authorize(connStr, appURL, method, url)
		if err != nil {
			return err
		}
		setString(urlOut, target)
		setString(authorizationOut, authorization)
		// A duration, not an instant: the caller's wall clock may step, and
		// the library's own counts on a monotonic one.
		var ms int64
		if !until.IsZero() {
			ms = max(0, time.Until(until).Milliseconds())
		}
		*reuseMsOut = C.int64_t(ms)
		return nil
	})
}

// authorize is apps.Authorize for the exports' arguments.
func authorize(connStr, appURL, method, url *C.char) (authorization, target string, until time.Time, err error) {
	o, err := parse(connStr)
	if err != nil {
		return "", "", time.Time{}, err
	}
	a, err := goString(appURL, "app_url")
	if err != nil {
		return "", "", time.Time{}, err
	}
	m, err := optString(method, "method")
	if err != nil {
		return "", "", time.Time{}, err
	}
	u, err := goString(url, "url")
	if err != nil {
		return "", "", time.Time{}, err
	}
	src, err := process.Auth.NewTokenSource(o)
	if err != nil {
		return "", "", time.Time{}, err
	}
	return apps.Authorize(a, src, m, u)
}

//export lakelink_app_diagnose
func lakelink_app_diagnose(connStr, method, url, sentAuthorization *C.char, status C.int32_t, headersJSON *C.char,
	body *C.uint8_t, bodyLen C.int64_t, networkError *C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		s, err := optStrings(method, "method", sentAuthorization, "sent_authorization", headersJSON, "headers_json",
			networkError, "network_error")
		if err != nil {
			return err
		}
		u, err := goString(url, "url")
		if err != nil {
			return err
		}
		respBody, err := goBytes(body, bodyLen, "body")
		if err != nil {
			return err
		}
		header, err := headerOf(s[2])
		if err != nil {
			return err
		}
		src, err := process.Auth.NewTokenSource(o)
		if err != nil {
			return err
		}
		return apps.Diagnose(src, s[0], u, s[1], int(status), header, respBody, s[3])
	})
}

//export lakelink_oauth_authorization_url
func lakelink_oauth_authorization_url(connStr, callbackURL, scope, state *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		s, err := optStrings(callbackURL, "callback_url", scope, "scope", state, "state")
		if err != nil {
			return err
		}
		a, err := process.Auth.GetOAuthAuthorizationURL(context.Background(), o, s[0], s[1], s[2])
		if err != nil {
			return err
		}
		return setJSON(jsonOut, map[string]string{"URL": a.URL, "State": a.State, "PKCEVerifier": a.PKCEVerifier})
	})
}

//export lakelink_oauth_access_token
func lakelink_oauth_access_token(connStr, verifier, authMode, callbackURL, state, pkceVerifier *C.char,
	jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		s, err := optStrings(verifier, "verifier", authMode, "auth_mode", callbackURL, "callback_url", state, "state",
			pkceVerifier, "pkce_verifier")
		if err != nil {
			return err
		}
		t, err := process.Auth.GetOAuthAccessToken(context.Background(), o, s[0], auth.AuthMode(s[1]), s[2], s[3], s[4])
		if err != nil {
			return err
		}
		return setJSON(jsonOut, t)
	})
}

//export lakelink_oauth_refresh
func lakelink_oauth_refresh(connStr, refreshToken *C.char, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusAuth, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		rt, err := optString(refreshToken, "refresh_token")
		if err != nil {
			return err
		}
		t, err := process.Auth.RefreshOAuthAccessToken(context.Background(), o, rt)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, t)
	})
}

//export lakelink_connect
func lakelink_connect(connStr *C.char, connOut *C.uint64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusDatabase, func() error {
		if err := notNull(connOut, "conn_out"); err != nil {
			return err
		}
		o, err := parse(connStr)
		if err != nil {
			return err
		}
		c, err := process.Open(context.Background(), o)
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
	return call(errOut, statusDatabase, func() error {
		if err := notNull(resultOut, "result_out"); err != nil {
			return err
		}
		r, err := execute(conn, sql, params, paramsLen)
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
	return call(errOut, statusDatabase, func() error {
		if err := errors.Join(notNull(columnsOut, "columns_json_out"), notNull(batchOut, "batch_out"),
			notNull(lenOut, "len_out"), notNull(tagOut, "command_tag_out"), notNull(rowsOut, "rows_affected_out"),
			notNull(resultOut, "result_out")); err != nil {
			return err
		}
		f, err := batchFormat(format)
		if err != nil {
			return err
		}
		r, err := execute(conn, sql, params, paramsLen)
		if err != nil {
			return err
		}
		batch, err := r.NextBatch(f, int(maxRows))
		if err != nil {
			r.Close()
			return err
		}
		cols, err := json.Marshal(columns(r))
		if err != nil {
			r.Close()
			return err
		}
		var handle uint64
		if r.Done() {
			if err := r.Close(); err != nil {
				return err
			}
		} else {
			handle = newHandle(kindResult, r)
		}
		setString(columnsOut, string(cols))
		setBytes(batchOut, lenOut, batch)
		setString(tagOut, r.CommandTag())
		*rowsOut = C.int64_t(r.RowsAffected())
		*resultOut = C.uint64_t(handle)
		return nil
	})
}

// execute runs sql with its encoded parameters on a live connection.
func execute(conn C.uint64_t, sql *C.char, params *C.uint8_t, paramsLen C.int64_t) (*lakebase.Result, error) {
	c, err := connection(conn)
	if err != nil {
		return nil, err
	}
	query, err := goString(sql, "sql")
	if err != nil {
		return nil, err
	}
	encoded, err := goBytes(params, paramsLen, "params")
	if err != nil {
		return nil, err
	}
	var args []any
	if encoded != nil {
		if args, err = lakebase.DecodeParams(lakebase.DefaultFormat, encoded); err != nil {
			return nil, &failure.ArgumentError{Message: err.Error(), Err: err}
		}
	}
	return c.Execute(context.Background(), query, args...)
}

// column is a result column as lakelink.h's JSON shows it.
type column struct {
	Name     string `json:"name"`
	TypeOID  uint32 `json:"type_oid"`
	TypeName string `json:"type_name"`
}

func columns(r *lakebase.Result) []column {
	cols := []column{}
	for _, c := range r.Columns() {
		cols = append(cols, column{c.Name, c.TypeOID, c.TypeName})
	}
	return cols
}

// batchFormat reads an optional batch format name; NULL or "" is the
// default.
func batchFormat(format *C.char) (lakebase.Format, error) {
	name, err := optString(format, "format")
	if err != nil {
		return "", err
	}
	f := lakebase.Format(name)
	if f == "" {
		f = lakebase.DefaultFormat
	}
	if f != lakebase.FormatColumnar && f != lakebase.FormatPickle {
		return "", &failure.ArgumentError{Message: "format " + string(f) + ": want columnar or pickle"}
	}
	return f, nil
}

//export lakelink_result_columns
func lakelink_result_columns(res C.uint64_t, jsonOut **C.char, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusDatabase, func() error {
		if err := notNull(jsonOut, "json_out"); err != nil {
			return err
		}
		r, err := result(res)
		if err != nil {
			return err
		}
		return setJSON(jsonOut, columns(r))
	})
}

//export lakelink_result_next_batch
func lakelink_result_next_batch(res C.uint64_t, maxRows C.int32_t, format *C.char, batchOut **C.uint8_t, lenOut *C.int64_t,
	errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusDatabase, func() error {
		if err := errors.Join(notNull(batchOut, "batch_out"), notNull(lenOut, "len_out")); err != nil {
			return err
		}
		r, err := result(res)
		if err != nil {
			return err
		}
		f, err := batchFormat(format)
		if err != nil {
			return err
		}
		batch, err := r.NextBatch(f, int(maxRows))
		if err != nil {
			return err
		}
		setBytes(batchOut, lenOut, batch)
		return nil
	})
}

//export lakelink_result_status
func lakelink_result_status(res C.uint64_t, tagOut **C.char, rowsOut *C.int64_t, errOut **C.lakelink_error) C.int32_t {
	return call(errOut, statusDatabase, func() error {
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
	return call(errOut, statusDatabase, func() error {
		v, err := lookup(uint64(res), kindResult, true)
		if err != nil {
			return err
		}
		err = v.(*lakebase.Result).Close()
		if errors.Is(err, lakebase.ErrDiscarded) {
			return nil // closing what was discarded is fine
		}
		return err
	})
}

// onConnection runs f on a live connection.
func onConnection(conn C.uint64_t, errOut **C.lakelink_error, f func(*lakebase.Conn) error) C.int32_t {
	return call(errOut, statusDatabase, func() error {
		c, err := connection(conn)
		if err != nil {
			return err
		}
		return f(c)
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
	return call(errOut, statusDatabase, func() error {
		v, err := lookup(uint64(conn), kindConnection, true)
		if err != nil {
			return err
		}
		return v.(*lakebase.Conn).Close()
	})
}
