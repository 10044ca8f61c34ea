//go:build wasip1

// Command wasm is lakelink.wasm: lakelink's core as a WASI preview 1
// reactor, built with GOOS=wasip1 GOARCH=wasm -buildmode=c-shared. A host
// calls _initialize, then lakelink_call with JSON requests; the core's HTTP
// goes through the host's lakelink.http import. README.md documents the
// ABI. This package only marshals: every operation is internal/ops's (the
// C library and the CLI share it), every rule lives in core/.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/lakelink/lakelink"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/internal/ops"
)

// version is the module's version (the VERSION file beside go.mod).
var version = lakelink.Version()

// abiVersion changes when the exports, the import or the JSON of an
// operation change incompatibly. 3: token's expires_at is RFC 3339 (null
// when unknown), as everywhere else.
const abiVersion = 3

// process is the module's one configuration: every HTTP request of the
// core goes through the host's HTTP import.
var process = &lakebase.Config{Auth: &auth.Config{HTTPTransport: hostTransport{}}}

// operations are internal/ops's operations run with process.
var operations = ops.Ops{Config: process}

func main() {}

// response is the JSON lakelink_call returns: Result, or Error; an app
// call that got an unsuccessful answer has both.
type response struct {
	Result any          `json:"result,omitempty"`
	Error  *ops.Failure `json:"error,omitempty"`
}

// lakelink_call runs the operation the JSON request at (p, n) describes (a
// buffer from lakelink_alloc, which the module takes back) and returns the
// response JSON's address<<32 | length, to be freed with lakelink_free.
//
//go:wasmexport lakelink_call
func lakelink_call(p, n uint32) uint64 {
	out, err := json.Marshal(call(p, n))
	if err != nil {
		out, _ = json.Marshal(response{Error: &ops.Failure{Code: ops.Internal, Message: "encoding the response: " + err.Error()}})
	}
	return packed(out)
}

// call decodes, runs and recovers one request: {"op": name, ...the
// operation's request fields}.
func call(p, n uint32) (resp response) {
	defer func() {
		if r := recover(); r != nil {
			resp = response{Error: &ops.Panicked(r).Failure}
		}
	}()
	raw, ok := take(p, n)
	if !ok {
		return fail(&ops.ArgumentError{Message: fmt.Sprintf("lakelink_call: (%d, %d) is not a buffer from lakelink_alloc", p, n)})
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return fail(&ops.ArgumentError{Message: "lakelink_call: the request is not a JSON object: " + err.Error()})
	}
	var name string
	json.Unmarshal(fields["op"], &name)
	op, ok := byName[name]
	if !ok {
		return fail(&ops.ArgumentError{Message: fmt.Sprintf("lakelink_call: unknown op %q", name)})
	}
	delete(fields, "op")
	result, err := op(context.Background(), fields)
	if err == nil {
		return response{Result: result}
	}
	resp = fail(err)
	if result != nil && !reflect.ValueOf(result).IsZero() { // an App's unsuccessful answer comes with its error
		resp.Result = result
	}
	return resp
}

func fail(err error) response {
	f := ops.Of(err, ops.Internal) // every operation classifies its errors
	return response{Error: &f}
}

// operation runs one operation on its request's fields.
type operation func(context.Context, map[string]json.RawMessage) (any, error)

// byName are the operations, by name. README.md lists them;
// internal/ops/CONTRACT.md documents their JSON.
var byName = map[string]operation{
	"version": func(context.Context, map[string]json.RawMessage) (any, error) {
		return ops.Version{Version: version, ABIVersion: abiVersion}, nil
	},
	"normalize":               op(ops.Normalize),
	"merge":                   op(ops.Merged),
	"token":                   op(operations.GetToken),
	"app_request":             op(operations.CallApp),
	"oauth_authorization_url": op(operations.GetAuthorizationURL),
	"oauth_access_token":      op(operations.GetAccessToken),
	"oauth_refresh":           op(operations.RefreshAccessToken),
	"lakebase_credential":     op(operations.GetCredential),
	"sql": func(context.Context, map[string]json.RawMessage) (any, error) {
		return nil, &ops.Error{Failure: ops.Failure{Code: ops.Database, Message: errNoSQL.Error()}, Err: errNoSQL}
	},
}

// op is the operation of run: it decodes the request's fields into run's
// request type, refusing a field it does not know.
func op[Req, Answer any](run func(context.Context, Req) (Answer, error)) operation {
	return func(ctx context.Context, fields map[string]json.RawMessage) (any, error) {
		var req Req
		data, err := json.Marshal(fields)
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			err = dec.Decode(&req)
		}
		if err != nil {
			var bad *ops.ArgumentError // a wire type's own complaint
			if !errors.As(err, &bad) {
				err = &ops.ArgumentError{Message: "lakelink_call: the request is not a JSON object of known fields: " + err.Error()}
			}
			return nil, err
		}
		return run(ctx, req)
	}
}

// errNoSQL answers the sql operation: a Postgres session needs a socket.
var errNoSQL = errors.New("SQL is not available in the WASI build; use the minted credential (op lakebase_credential) " +
	"with your host's Postgres driver (WASI preview 1 has no sockets for a Postgres session)")
