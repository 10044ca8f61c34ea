package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"

	"github.com/lakelink/lakelink/core/connstr"
)

// logger writes lakelink's log to the Logfile at the Verbosity asked for:
// 1 errors, 2 what happens (tokens obtained, refreshed), 3 each HTTP
// request, 4 their headers, 5 their bodies. Secrets never reach it: headers
// and bodies pass through redact first.
type logger struct {
	l         *slog.Logger
	verbosity int
}

// nopLogger logs nothing.
var nopLogger = &logger{l: slog.New(slog.DiscardHandler)}

var logFiles sync.Map // path -> io.Writer, so that every source appends to one handle

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// newLogger opens the options' Logfile (appending; "-" or "stderr" is
// standard error). Without a Logfile nothing is logged.
func newLogger(o *connstr.Options) (*logger, error) {
	if o.Logfile == "" {
		return nopLogger, nil
	}
	w, ok := logFiles.Load(o.Logfile)
	if !ok {
		var out io.Writer = os.Stderr
		if o.Logfile != "-" && o.Logfile != "stderr" {
			f, err := os.OpenFile(o.Logfile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
			if err != nil {
				return nil, fmt.Errorf("Logfile: %w", err)
			}
			out = f
		}
		w, _ = logFiles.LoadOrStore(o.Logfile, &lockedWriter{w: out})
	}
	verbosity := o.Verbosity
	if verbosity == 0 {
		verbosity = 1
	}
	level := slog.LevelError
	if verbosity >= 2 {
		level = slog.LevelDebug
	}
	return &logger{l: slog.New(slog.NewTextHandler(w.(io.Writer), &slog.HandlerOptions{Level: level})), verbosity: verbosity}, nil
}

// info logs what happens (verbosity 2 and up).
func (l *logger) info(msg string, args ...any) { l.at(2, msg, args...) }

// error logs a failure (every verbosity).
func (l *logger) error(msg string, args ...any) { l.l.Error(msg, args...) }

func (l *logger) at(verbosity int, msg string, args ...any) {
	if l.verbosity >= verbosity {
		l.l.Log(context.Background(), slog.LevelInfo, msg, args...)
	}
}

// request logs an outgoing request: its method and URL without the query
// (3), headers (4), body (5).
func (l *logger) request(req *http.Request) {
	if l.verbosity < 3 {
		return
	}
	args := []any{"method", req.Method, "url", withoutQuery(req.URL)}
	if l.verbosity >= 4 {
		args = append(args, "headers", redactHeader(req.Header))
	}
	if l.verbosity >= 5 && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(body)
			args = append(args, "body", redactBody(req.Header.Get("Content-Type"), b))
		}
	}
	l.at(3, "http request", args...)
}

// response logs a response: status (3), headers (4), body (5).
func (l *logger) response(resp *http.Response, body []byte) {
	if l.verbosity < 3 {
		return
	}
	args := []any{"status", resp.StatusCode, "url", withoutQuery(resp.Request.URL)}
	if l.verbosity >= 4 {
		args = append(args, "headers", redactHeader(resp.Header))
	}
	if l.verbosity >= 5 {
		args = append(args, "body", redactBody(resp.Header.Get("Content-Type"), body))
	}
	l.at(3, "http response", args...)
}

func withoutQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.User, c.Fragment = "", nil, ""
	return c.String()
}

// secretFields are JSON and form fields whose values are never logged.
var secretFields = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "client_secret": true, "code": true,
	"code_verifier": true, "password": true, "token": true, "assertion": true, "client_assertion": true,
}

// redactHeader renders headers with credentials masked: an
// authorization's known scheme is kept, cookies and tokens are not.
func redactHeader(h http.Header) string {
	var b strings.Builder
	for name, values := range h {
		v := strings.Join(values, ",")
		switch strings.ToLower(name) {
		case "authorization", "proxy-authorization":
			scheme, _, _ := strings.Cut(v, " ")
			switch strings.ToLower(scheme) {
			case "bearer", "basic", "negotiate", "digest":
				v = scheme + " ***"
			default:
				v = "***"
			}
		case "cookie", "set-cookie", "x-forwarded-access-token":
			v = "***"
		}
		fmt.Fprintf(&b, "%s: %s; ", name, v)
	}
	return strings.TrimSuffix(b.String(), "; ")
}

// redactBody returns a JSON or form body with secret fields masked; any
// other body is summarised by its length only.
func redactBody(contentType string, body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/json":
		var obj map[string]any
		if json.Unmarshal(body, &obj) == nil {
			for k := range obj {
				if secretFields[k] {
					obj[k] = "***"
				}
			}
			out, _ := json.Marshal(obj)
			return string(out)
		}
	case "application/x-www-form-urlencoded":
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k := range form {
				if secretFields[k] {
					form[k] = []string{"***"}
				}
			}
			return form.Encode()
		}
	}
	return fmt.Sprintf("(%d bytes of %s, not shown)", len(body), mediaType)
}
