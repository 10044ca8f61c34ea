// Package ops is the one operations layer of lakelink's exports: every
// operation the C library (capi), the WASI module (wasm) and the CLI's
// --json output offer is one function here, taking and returning typed
// structs whose JSON tags are the wire contract (CONTRACT.md), and
// returning its errors classified (*Error, with the status codes of
// lakelink.h). The exports only marshal: C arguments and out-parameters,
// the WASI module's JSON requests, the CLI's flags and output.
//
// The operations the WASI module offers have the form
// func(context.Context, Request) (Answer, error), so that it can dispatch
// to them by name; those on sessions and results, which only the C
// library offers, take the session or result as well. Those that
// reach Databricks or Lakebase are methods of [Ops], which holds the
// configuration they use: the C library and the WASI module each pass
// their process's, the CLI the default one.
package ops

import (
	"context"
	"net/http"

	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
)

// Ops are the operations that reach Databricks or Lakebase, run with one
// configuration: its token sources, HTTP transport and pools. The zero Ops
// uses the default configuration (lakebase's and auth's package-level
// functions).
type Ops struct {
	// Config is the configuration every operation uses; nil: the default.
	Config *lakebase.Config
}

// auth is the configuration of the operations' tokens: Config's Auth, nil
// (the default) when Config is nil.
func (p Ops) auth() *auth.Config {
	if p.Config == nil {
		return nil
	}
	return p.Config.Auth
}

// transport is the HTTP transport of the operations' App calls: the
// configuration's, nil for the default.
func (p Ops) transport() http.RoundTripper {
	if a := p.auth(); a != nil {
		return a.HTTPTransport
	}
	return nil
}

// userAgent is the configuration's auth.Config.UserAgent: the binding's
// part of the User-Agent of the operations' App calls.
func (p Ops) userAgent() string {
	if a := p.auth(); a != nil {
		return a.UserAgent
	}
	return ""
}

// Conn is a request that needs only a connection string.
type Conn struct {
	Conn string `json:"conn"`
}

// Version is the answer of the WASI module's version operation.
type Version struct {
	Version    string `json:"version"`
	ABIVersion int    `json:"abi_version"`
}

// tokenSource is the token source of a connection string for one call:
// the configuration's shared one, whose token the process (or WASI
// instance) keeps across calls, except for AuthScheme=Token, whose token,
// given as is, has nothing to renew or share: its source is the call's
// alone and goes with it, so that a user's token (Python's and Node's
// App.as_user) lives no longer than the call (Lakebase connections still
// share theirs: lakebase keeps identities by token source).
func (p Ops) tokenSource(conn string) (*auth.Source, error) {
	o, err := connstr.Parse(conn)
	if err != nil {
		return nil, err
	}
	if auth.EffectiveScheme(o) == connstr.AuthToken {
		return auth.StaticSource(o)
	}
	return p.auth().NewTokenSource(o)
}

// Normalized is a connection string as the core reads it: lakelink.h's
// lakelink_connstr_normalize, the WASI operation normalize.
type Normalized struct {
	// Normalized is the connection string with canonical key names and
	// every secret as ***.
	Normalized string `json:"normalized"`
	// Properties maps each canonical key given to its value, secrets as ***.
	Properties map[string]string `json:"properties"`
}

// Normalize parses and validates r.Conn.
func Normalize(_ context.Context, r Conn) (n *Normalized, err error) {
	defer classify(&err, ConnectionString)
	o, err := connstr.Parse(r.Conn)
	if err != nil {
		return nil, err
	}
	return &Normalized{Normalized: o.String(), Properties: o.Redacted()}, nil
}

// Merge is a request to apply overrides to a connection string.
type Merge struct {
	Conn string `json:"conn"`
	// Overrides maps property names (or aliases, any case) to values, or to
	// null to remove the property.
	Overrides map[string]*string `json:"overrides"`
}

// Merged is r.Conn with r.Overrides applied: a connection string with its
// secrets (hand it on, never show it).
func Merged(_ context.Context, r Merge) (s string, err error) {
	defer classify(&err, ConnectionString)
	return connstr.MergeNullable(r.Conn, r.Overrides)
}

// SetUserAgent names the binding (or program) over the exports in the
// User-Agent of every HTTP request the configuration makes (see
// auth.Config.UserAgent), such as "binding/python python/3.11.7". It sets
// the configuration's Auth.UserAgent, once: a binding calls it when it
// loads the library, before any call that reaches the network (the
// configuration reads it at its first use); a second call is refused.
func (p Ops) SetUserAgent(_ context.Context, userAgent string) error {
	if err := auth.CheckUserAgent(userAgent); err != nil {
		return &ArgumentError{Message: "user_agent: " + err.Error()}
	}
	a := p.auth()
	if a == nil {
		return &ArgumentError{Message: "the default configuration takes no User-Agent: give Ops a Config with an Auth of its own"}
	}
	if a.UserAgent != "" {
		return &ArgumentError{Message: "the User-Agent is set already (" + a.UserAgent + "): set it once, when the library is loaded"}
	}
	a.UserAgent = userAgent
	return nil
}
