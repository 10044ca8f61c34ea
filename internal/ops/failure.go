package ops

// The one failure classification of the exports: a status code and the
// fields a binding turns into its exception, as lakelink.h's
// lakelink_error and CONTRACT.md ("Errors") document them.

import (
	"errors"
	"fmt"
	"strings"

	"github.com/lakelink/lakelink/core/apps"
	"github.com/lakelink/lakelink/core/auth"
	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/lakebase"
	"github.com/lakelink/lakelink/core/redact"
)

// Code is a status, as lakelink.h defines LAKELINK_ERR_*.
type Code int32

// The codes of lakelink.h.
const (
	OK               Code = 0
	InvalidArgument  Code = -1 // a missing, malformed or bad argument
	InvalidHandle    Code = -2 // an unknown, closed or wrong-kind handle
	ConnectionString Code = -3 // the connection string does not parse
	Auth             Code = -4 // no token: login, client secret, token endpoint
	Database         Code = -5 // Lakebase refused or failed
	App              Code = -6 // an app call failed
	Internal         Code = -7 // a bug in lakelink
)

// Panicked is the error of an operation that panicked with r: a bug,
// LAKELINK_ERR_INTERNAL, which asks to be reported.
func Panicked(r any) *Error {
	return &Error{Failure{Code: Internal, Message: fmt.Sprintf("lakelink internal error (a bug; please report it): %v", r)}, nil}
}

// ArgumentError is a bad argument to an export: the error's text names it.
// Err, when set, is the core's error it stands for (its SQLSTATE, say).
type ArgumentError struct {
	Message string
	Err     error
}

func (e *ArgumentError) Error() string { return e.Message }

func (e *ArgumentError) Unwrap() error { return e.Err }

// HandleError is an unknown, closed or wrong-kind handle given to an export.
type HandleError struct{ Message string }

func (e *HandleError) Error() string { return e.Message }

// Failure is an error as the exports report it. Message is one line and
// never holds a secret (the core's errors never do, and Of masks what
// package redact recognises besides).
type Failure struct {
	Code       Code   `json:"code"`
	Message    string `json:"message"`
	SQLState   string `json:"sqlstate"`
	Diagnosis  string `json:"diagnosis"`
	HTTPStatus int32  `json:"http_status"`
	Kind       string `json:"kind"`
	Detail     string `json:"detail"` // the server's DETAIL of a database error
	Hint       string `json:"hint"`   // the server's HINT of a database error
}

// Error is an operation's error: its Failure, and the error it classifies.
// Every operation of this package returns its errors as an *Error, so that
// the exports need not know which operation failed to classify them.
type Error struct {
	Failure
	Err error
}

// Error is the classified error's own text (the CLI shows it, a diagnosis
// on lines of its own included); Message is its one-line form.
func (e *Error) Error() string { return e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// classify replaces a non-nil *err with its *Error; fallback is the code of
// errors of no recognised kind (the operation's own: Auth for a token).
// Operations defer it.
func classify(err *error, fallback Code) {
	if _, done := (*err).(*Error); *err != nil && !done {
		*err = &Error{Of(*err, fallback), *err}
	}
}

// Of classifies err: an operation's *Error has its Failure; other errors
// are classified by their type, fallback being the code of errors of no
// recognised kind (the exports give Internal: every operation classifies
// its own errors, so an error no operation classified is a bug).
func Of(err error, fallback Code) Failure {
	var classified *Error
	if errors.As(err, &classified) {
		return classified.Failure
	}
	f := Failure{Code: fallback, Message: err.Error()}
	var (
		argErr    *ArgumentError
		appArgErr *apps.ArgumentError
		handleErr *HandleError
		connErr   *connstr.Error
		dbErr     *lakebase.Error
		appErr    *apps.Error
		oauthErr  *auth.OAuthError
		bearerErr *auth.BearerTokenError
		userErr   *lakebase.UserTokenError
		dirErr    *lakebase.CopyDirectionError
	)
	switch {
	case errors.As(err, &argErr), errors.As(err, &appArgErr), errors.As(err, &dirErr):
		f.Code = InvalidArgument
	case errors.As(err, &bearerErr): // no bearer token's shape (a user's token, Token): a bad argument
		f.Code = InvalidArgument
	case errors.As(err, &userErr): // expired, refused, or unverifiable: no login as the user
		f.Code = Auth
	case errors.As(err, &handleErr):
		f.Code = InvalidHandle
	case errors.As(err, &connErr):
		f.Code = ConnectionString
	case errors.As(err, &dbErr):
		f.Code = Database
	case errors.As(err, &appErr):
		f.Code = App
	case errors.As(err, &oauthErr):
		f.Code = Auth
	}
	var dataErr *lakebase.DataError
	if errors.As(err, &dbErr) {
		f.SQLState, f.Detail, f.Hint = dbErr.SQLState, strings.ToValidUTF8(dbErr.Detail, "\uFFFD"), strings.ToValidUTF8(dbErr.Hint, "\uFFFD")
	} else if errors.As(err, &dataErr) { // a value lakelink cannot convert: class 22
		f.SQLState = dataErr.SQLState
	}
	if errors.As(err, &appErr) {
		f.Diagnosis, f.Kind, f.HTTPStatus = strings.ToValidUTF8(appErr.Diagnosis, "\uFFFD"), appErr.Kind, int32(appErr.Status)
		// apps.Error's text ends with its diagnosis on a line of its own:
		// the diagnosis has a field of its own here.
		if appErr.Diagnosis != "" {
			f.Message = strings.Replace(f.Message, "\n"+appErr.Diagnosis, "", 1)
		}
	}
	// The core's errors hold no secret; this is the last line of defence
	// at the boundary, should one ever quote a server that echoed one.
	f.Message = OneLine(redact.Text(f.Message))
	return f
}

// OneLine makes an error's text one line (errors.Join and some errors put
// their parts on lines of their own) of valid UTF-8 (an error may quote
// input that is not).
func OneLine(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
