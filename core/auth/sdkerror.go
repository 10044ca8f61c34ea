package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/databricks/databricks-sdk-go/apierr"
	"github.com/databricks/databricks-sdk-go/httpclient"
	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/redact"
)

// APIError is a failed call to Databricks through databricks-sdk-go
// (unified auth, Lakebase credentials, SCIM), reduced to what a user needs:
// the HTTP status, the API's error code and its message. It holds no
// request or response dump, no header and no body, and its message passes
// through package redact: it never shows a secret.
type APIError struct {
	// Call is what lakelink asked for, such as "the database credentials API".
	Call string
	// StatusCode is the HTTP status of the answer; 0 when there was none.
	StatusCode int
	// ErrorCode is the API's error code, such as PERMISSION_DENIED, when it gave one.
	ErrorCode string
	// Message is the API's message, or what went wrong.
	Message string

	cause error // context.Canceled or context.DeadlineExceeded, for errors.Is; nothing else
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Call)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.ErrorCode != "" {
		b.WriteString(" " + e.ErrorCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Unwrap returns the context error the call ended with, if any.
func (e *APIError) Unwrap() error { return e.cause }

// ownError is an error of lakelink's own token source, passed on by the
// SDK: SDKError returns it as it is (it is lakelink's, and safe).
type ownError struct{ err error }

func (e *ownError) Error() string { return e.err.Error() }
func (e *ownError) Unwrap() error { return e.err }

// maxAPIMessage bounds the message an APIError keeps: an API that answers
// an HTML page or a huge body is summed up, not quoted whole.
const maxAPIMessage = 500

// SDKError turns an error of a databricks-sdk-go call into an *APIError:
// the one place where the SDK's errors (apierr.APIError, httpclient's
// HttpError, oauth2's RetrieveError, and the request logs the SDK wraps
// around an answer it cannot decode) become lakelink errors. Every call
// into the SDK returns its error through SDKError. call names what was
// called, for the message. A nil err gives nil.
func SDKError(call string, err error) error {
	if err == nil {
		return nil
	}
	if own := (*ownError)(nil); errors.As(err, &own) {
		return own.err
	}
	e := &APIError{Call: call}
	var (
		apiErr    *apierr.APIError
		httpErr   *httpclient.HttpError
		oauthErr  *oauth2.RetrieveError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &apiErr):
		e.StatusCode, e.ErrorCode, e.Message = apiErr.StatusCode, apiErr.ErrorCode, apiErr.Message
		if e.ErrorCode == "UNKNOWN" { // the SDK's name for an answer it could not parse: its message is the whole body
			e.ErrorCode, e.Message = "", "the answer is not a Databricks error document"
		}
	case errors.As(err, &httpErr):
		e.StatusCode, e.Message = httpErr.StatusCode, "the answer is not a Databricks error document"
	case errors.As(err, &oauthErr): // never its Body
		if oauthErr.Response != nil {
			e.StatusCode = oauthErr.Response.StatusCode
		}
		e.ErrorCode, e.Message = oauthErr.ErrorCode, oauthErr.ErrorDescription
	case errors.As(err, &syntaxErr):
		e.Message = "the answer is not valid JSON (" + syntaxErr.Error() + ")"
	case errors.As(err, &typeErr):
		e.Message = "the answer is not of the expected form (" + typeErr.Error() + ")"
	case errors.Is(err, httpclient.ErrHTMLContent):
		e.Message = "the answer is an HTML page, not JSON: is the host a Databricks workspace?"
	default:
		e.Message = err.Error()
	}
	e.Message = shortMessage(e.Message)
	switch {
	case errors.Is(err, context.Canceled):
		e.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
	}
	return e
}

// shortMessage is msg without any request log the SDK appended, on one
// line, bounded, with secrets masked.
func shortMessage(msg string) string {
	for _, dump := range []string{"This is likely a bug in the Databricks SDK", "Request log:", "\n```"} {
		if i := strings.Index(msg, dump); i >= 0 {
			msg = msg[:i]
		}
	}
	msg = strings.Join(strings.Fields(redact.Text(msg)), " ")
	if len(msg) > maxAPIMessage {
		msg = strings.ToValidUTF8(msg[:maxAPIMessage], "") + "…"
	}
	return strings.TrimRight(msg, " .")
}
