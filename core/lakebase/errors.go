package lakebase

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// This file holds the errors of the package, as pgconn/errors.go does: the
// *Error of a failed connection or statement, how a pgx error becomes one
// (with lakelink's words for the refusals users hit most), and the
// *DataError of a value lakelink cannot convert.

// Error is a failed Lakebase connection or statement: where, as whom, and
// why, with the server's SQLSTATE for server errors.
type Error struct {
	Host     string // host:port
	User     string
	SQLState string // empty when the server did not answer
	Message  string
	// Detail and Hint are the server's DETAIL and HINT fields (such as
	// "Key (id)=(1) already exists."), empty when it sent none. Message
	// ends with the detail too.
	Detail string
	Hint   string
	Err    error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("lakebase %s (user %s): %s", e.Host, e.User, e.Message)
	if e.SQLState != "" {
		msg += " (SQLSTATE " + e.SQLState + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// serverError is the server's error in err's chain, or nil. (errors.As's
// target escapes: testing err first spares the statements that succeed
// an allocation.)
func serverError(err error) *pgconn.PgError {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	return pgErr
}

// wrap turns a pgx error into an *Error naming host and user.
func (t *target) wrap(err error) error {
	if err == nil {
		return nil
	}
	return t.newError(err)
}

// newError is wrap for an error that is not nil.
func (t *target) newError(err error) *Error {
	e := &Error{Host: t.host, User: t.user, Message: err.Error(), Err: err}
	if pgErr := serverError(err); pgErr != nil {
		e.SQLState, e.Message, e.Detail, e.Hint = pgErr.Code, pgErr.Message, pgErr.Detail, pgErr.Hint
		if pgErr.Detail != "" {
			e.Message += ": " + pgErr.Detail
		}
	}
	var connectErr *pgconn.ConnectError
	switch {
	case e.SQLState != "":
	case errors.As(err, &connectErr):
		e.Message = "cannot connect: " + strings.TrimPrefix(connectErr.Unwrap().Error(), "dial error: ")
	case connectionLost(err):
		e.Message = "connection lost (" + err.Error() + "): the server or the network ended the session; " +
			"a statement in flight may or may not have taken effect; a pool replaces the session, a connection of its own must be opened again"
	}
	return e
}

// connectionLost reports an error of a session whose connection ended
// under it.
func connectionLost(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.As(err, &opErr)
}

// loginError is the *Error of a failed login, saying in lakelink's words
// why, whatever the server's wording, for the two refusals users hit most:
// a connection without TLS, and a User that is not the token's principal.
// The server's own message follows.
func (t *target) loginError(ctx context.Context, err error) *Error {
	e := t.newError(err)
	switch {
	case t.plaintext && e.SQLState != "" && mentionsTLS(e.Message):
		e.Message = "TLS required by server: use SSLMode=require (or verify-full); the server said: " + e.Message
	case certificateRefused(err):
		e.Message = "the server's certificate does not verify, so the password was not sent (" + e.Message +
			"): if this is the right server, give the CA that signed its certificate as SSLServerCert"
		if !t.caGiven {
			e.Message += ", or, checking against the system's roots, make sure the system has its CA certificates " +
				"(a slim container may lack them; Debian: apt-get install ca-certificates)"
		}
		e.Message += "; SSLMode=require skips the check, and then sends the password to whichever server answers"
	case e.SQLState == "28P01" && t.userGiven && t.id != nil:
		if principal, perr := t.id.principalName(ctx); perr == nil && principal != t.user {
			e.Message = fmt.Sprintf("user %s is not the principal of this token (%s): give User=%s, or leave User out; the server said: %s",
				t.user, principal, principal, e.Message)
		}
	}
	if e.SQLState == "28P01" && t.unverifiedToken {
		e.Message += "; the workspace token was not renewed to try again, because the server's certificate is not checked: " +
			"give SSLServerCert to check it"
	}
	return e
}

// mentionsTLS tells a server's refusal of an unencrypted connection:
// Lakebase's, or pg_hba.conf's "no encryption" (SQLSTATE 28000).
func mentionsTLS(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "ssl") || strings.Contains(m, "tls") || strings.Contains(m, "encrypt")
}

// DataError is a value lakelink cannot convert: a parameter it cannot send
// (SQLState 22023, invalid_parameter_value) or a result value it cannot
// encode in a batch (22000, data_exception). It carries a SQLSTATE of
// PostgreSQL's class 22 so that every binding classifies it as the data
// errors the server itself reports.
type DataError struct {
	SQLState string
	Err      error
}

func (e *DataError) Error() string { return e.Err.Error() }

func (e *DataError) Unwrap() error { return e.Err }
