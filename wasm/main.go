//go:build wasip1

// Command wasm is lakelink.wasm: lakelink's core as a WASI preview 1
// reactor, built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared. A host
// calls _initialize, then lakelink_call with JSON requests; the core's HTTP
// goes through the host's lakelink.http import. README.md documents the
// ABI. This package only marshals: every rule lives in core/.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/failure"
	"github.com/lakelink/lakelink/core/lakebase"
)

// version is the module's version (the VERSION file beside go.mod).
var version = lakelink.Version()

// abiVersion changes when the exports, the import or the JSON of an
// operation change incompatibly.
const abiVersion = 2

// process is the module's one configuration: every HTTP request of the
// core goes through the host's HTTP import.
var process = &lakebase.Config{Auth: &auth.Config{HTTPTransport: hostTransport{}}}

func main() {}

// request is the JSON lakelink_call takes: the operation and its
// arguments, each operation reading the ones it needs.
type request struct {
	Op           string             `json:"op"`
	Conn         string             `json:"conn"`
	Overrides    map[string]*string `json:"overrides"`
	Method       string             `json:"method"`
	AppURL       string             `json:"app_url"`
	URL          string             `json:"url"`
	Headers      map[string]string  `json:"headers"`
	Body         []byte             `json:"body"` // base64
	CallbackURL  string             `json:"callback_url"`
	Scope        string             `json:"scope"`
	State        string             `json:"state"`
	Verifier     string             `json:"verifier"`
	AuthMode     string             `json:"auth_mode"`
	PKCEVerifier string             `json:"pkce_verifier"`
	RefreshToken string             `json:"refresh_token"`
	SQL          string             `json:"sql"`
}

// response is the JSON lakelink_call returns: Result, or Error; an app
// call that got an unsuccessful answer has both.
type response struct {
	Result any              `json:"result,omitempty"`
	Error  *failure.Failure `json:"error,omitempty"`
}

// lakelink_call runs the operation the JSON request at (p, n) describes (a
// buffer from lakelink_alloc, which the module takes back) and returns the
// response JSON's address<<32 | length, to be freed with lakelink_free.
//
//go:wasmexport lakelink_call
func lakelink_call(p, n uint32) uint64 {
	out, err := json.Marshal(call(p, n))
	if err != nil {
		out, _ = json.Marshal(response{Error: &failure.Failure{Code: failure.Internal, Message: "encoding the response: " + err.Error()}})
	}
	return packed(out)
}

// call decodes, runs and recovers one request.
func call(p, n uint32) (resp response) {
	fallback := failure.InvalidArgument
	defer func() {
		if r := recover(); r != nil {
			resp = response{Error: &failure.Failure{Code: failure.Internal, Message: fmt.Sprintf("lakelink internal error (a bug; please report it): %v", r)}}
		}
	}()
	raw, ok := take(p, n)
	if !ok {
		return fail(&failure.ArgumentError{Message: fmt.Sprintf("lakelink_call: (%d, %d) is not a buffer from lakelink_alloc", p, n)}, fallback)
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return fail(&failure.ArgumentError{Message: "lakelink_call: the request is not a JSON object of known fields: " + err.Error()}, fallback)
	}
	op, ok := ops[req.Op]
	if !ok {
		return fail(&failure.ArgumentError{Message: fmt.Sprintf("lakelink_call: unknown op %q", req.Op)}, fallback)
	}
	result, err := op.run(context.Background(), &req)
	if err == nil {
		return response{Result: result}
	}
	resp = fail(err, op.fallback)
	if op.answered && result != nil {
		resp.Result = result
	}
	return resp
}

func fail(err error, fallback failure.Code) response {
	f := failure.Of(err, fallback)
	return response{Error: &f}
}

type operation struct {
	fallback failure.Code // the code of errors of no recognised kind
	// answered: a result that comes with an error is returned too (an
	// App's unsuccessful answer).
	answered bool
	run      func(context.Context, *request) (any, error)
}

// ops are the operations, by name. README.md documents their JSON.
var ops = map[string]operation{
	"version": {failure.Internal, false, func(context.Context, *request) (any, error) {
		return map[string]any{"version": version, "abi_version": abiVersion}, nil
	}},
	"normalize": {failure.ConnectionString, false, func(_ context.Context, r *request) (any, error) {
		o, err := connstr.Parse(r.Conn)
		if err != nil {
			return nil, err
		}
		return map[string]any{"normalized": o.String(), "properties": o.Redacted()}, nil
	}},
	"merge": {failure.ConnectionString, false, func(_ context.Context, r *request) (any, error) {
		return connstr.MergeNullable(r.Conn, r.Overrides)
	}},
	"token": {failure.Auth, false, func(ctx context.Context, r *request) (any, error) {
		src, err := tokenSource(r.Conn)
		if err != nil {
			return nil, err
		}
		tok, err := src.TokenContext(ctx)
		if err != nil {
			return nil, err
		}
		var expires int64
		if !tok.Expiry.IsZero() {
			expires = tok.Expiry.Unix()
		}
		return map[string]any{"access_token": tok.AccessToken, "expires_at": expires}, nil
	}},
	"app_request": {failure.App, true, func(ctx context.Context, r *request) (any, error) {
		if r.AppURL == "" {
			return nil, &failure.ArgumentError{Message: "app_request: app_url is missing: give the app's URL (https://host), the only origin the token may go to"}
		}
		src, err := tokenSource(r.Conn)
		if err != nil {
			return nil, err
		}
		app, err := apps.New(r.AppURL, src, apps.WithTransport(process.Auth.HTTPTransport))
		if err != nil {
			return nil, err
		}
		header := http.Header{}
		for k, v := range r.Headers {
			header.Set(k, v)
		}
		resp, err := app.Do(ctx, r.Method, r.URL, bytes.NewReader(r.Body), header)
		if resp == nil {
			return nil, err
		}
		return map[string]any{"status": resp.Status, "headers": resp.Header, "body": resp.Body, "url": resp.URL}, err
	}},
	"oauth_authorization_url": {failure.Auth, false, func(ctx context.Context, r *request) (any, error) {
		o, err := connstr.Parse(r.Conn)
		if err != nil {
			return nil, err
		}
		a, err := process.Auth.GetOAuthAuthorizationURL(ctx, o, r.CallbackURL, r.Scope, r.State)
		if err != nil {
			return nil, err
		}
		return map[string]string{"URL": a.URL, "State": a.State, "PKCEVerifier": a.PKCEVerifier}, nil
	}},
	"oauth_access_token": {failure.Auth, false, func(ctx context.Context, r *request) (any, error) {
		o, err := connstr.Parse(r.Conn)
		if err != nil {
			return nil, err
		}
		return process.Auth.GetOAuthAccessToken(ctx, o, r.Verifier, auth.AuthMode(r.AuthMode), r.CallbackURL, r.State, r.PKCEVerifier)
	}},
	"oauth_refresh": {failure.Auth, false, func(ctx context.Context, r *request) (any, error) {
		o, err := connstr.Parse(r.Conn)
		if err != nil {
			return nil, err
		}
		return process.Auth.RefreshOAuthAccessToken(ctx, o, r.RefreshToken)
	}},
	"lakebase_credential": {failure.Database, false, func(ctx context.Context, r *request) (any, error) {
		o, err := connstr.Parse(r.Conn)
		if err != nil {
			return nil, err
		}
		l, err := process.Login(ctx, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"host": l.Host, "port": l.Port, "database": l.Database, "user": l.User, "password": l.Password,
			"sslmode": l.SSLMode, "sslrootcert": l.SSLRootCert, "sslrootcert_pem": l.SSLRootCertPEM, "application_name": l.ApplicationName}, nil
	}},
	"sql": {failure.Database, false, func(context.Context, *request) (any, error) {
		return nil, errNoSQL
	}},
}

// errNoSQL answers the sql operation: a Postgres session needs a socket.
var errNoSQL = errors.New("SQL is not available in the WASI build; use the minted credential (op lakebase_credential) " +
	"with your host's Postgres driver (WASI preview 1 has no sockets for a Postgres session)")

// tokenSource is the core's shared token source of a connection string:
// the instance keeps its cached token across calls.
func tokenSource(conn string) (*auth.Source, error) {
	o, err := connstr.Parse(conn)
	if err != nil {
		return nil, err
	}
	return process.Auth.NewTokenSource(o)
}
