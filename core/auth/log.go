package auth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/lakelink/lakelink/core/connstr"
	"github.com/lakelink/lakelink/core/internal/cache"
	"github.com/lakelink/lakelink/core/redact"
)

// logger writes lakelink's log to the Logfile at the Verbosity asked for:
// 1 errors, 2 what happens (tokens obtained, refreshed), 3 each HTTP
// request, 4 their headers, 5 their bodies. Secrets never reach it: headers
// and bodies pass through package redact, and so does every attribute (redactAttr).
type logger struct {
	l         *slog.Logger
	verbosity int
}

// nopLogger logs nothing.
var nopLogger = &logger{l: slog.New(slog.DiscardHandler)}

// logFiles holds the open Logfiles of the whole process, one handle per
// path, so that every source, whatever its Config, appends to one handle
// and lines do not interleave; like the token store's files (fileStores),
// a file is the process's, not a configuration's. At most maxOpenLogFiles
// are open: the least recently written, and any unwritten for
// logFileIdle, are closed, and a later line opens the file again
// (appending). A logger holds the path only (logPath).
var logFiles = cache.New[string, *logFile](maxOpenLogFiles, logFileIdle, func(_ string, f *logFile) { f.close() })

// Bounds of logFiles.
const (
	maxOpenLogFiles = 32
	logFileIdle     = time.Minute
)

// logFile is an open Logfile; closed (f nil) once logFiles forgets it.
type logFile struct {
	mu sync.Mutex
	f  *os.File
}

func (l *logFile) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.f.Close()
	l.f = nil
}

// openLog returns the open handle of the Logfile at path, opening it
// (appending, created 0600) if it is not open.
func openLog(path string) (*logFile, error) {
	return logFiles.GetOrAdd(path, func() (*logFile, error) {
		f, err := openAppend(path)
		if err != nil {
			return nil, fmt.Errorf("Logfile: %w", err)
		}
		return &logFile{f: f}, nil
	})
}

// logPath writes each line to the Logfile at its path through logFiles.
type logPath string

func (p logPath) Write(line []byte) (int, error) {
	for {
		l, err := openLog(string(p))
		if err != nil {
			return 0, err
		}
		l.mu.Lock()
		if l.f != nil {
			n, err := l.f.Write(line)
			l.mu.Unlock()
			return n, err
		}
		l.mu.Unlock() // closed since openLog returned it: open it again
	}
}

// stderrLog is the log written to standard error ("-" or "stderr"), one
// line at a time.
var stderrLog = &lockedWriter{w: os.Stderr}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// newLogger makes the logger of the options' Logfile (appending; "-" or
// "stderr" is standard error), opening the file now so that a Logfile that
// cannot be written is reported. Without a Logfile nothing is logged.
func newLogger(o *connstr.Options) (*logger, error) {
	var w io.Writer
	switch o.Logfile {
	case "":
		return nopLogger, nil
	case "-", "stderr":
		w = stderrLog
	default:
		path, err := filepath.Abs(o.Logfile) // reopened later, from wherever the process is then
		if err != nil {
			return nil, fmt.Errorf("Logfile: %w", err)
		}
		if _, err := openLog(path); err != nil {
			return nil, err
		}
		w = logPath(path)
	}
	verbosity := o.Verbosity
	if verbosity == 0 {
		verbosity = 1
	}
	level := slog.LevelError
	if verbosity >= 2 {
		level = slog.LevelDebug
	}
	handler := slog.NewTextHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return &logger{l: slog.New(handler), verbosity: verbosity}, nil
}

// redactAttr passes every attribute of every log line, the message
// included, through package redact: an attribute named like a secret is
// masked whole, any other text (an error, a URL, a body) has its secrets
// masked. Whatever a caller logs, no secret package redact recognises
// reaches the Logfile.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if redact.IsSecretKey(a.Key) {
		return slog.String(a.Key, redact.Mask)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(redact.Text(a.Value.String()))
	case slog.KindAny:
		a.Value = slog.StringValue(redact.Text(fmt.Sprint(a.Value.Any())))
	}
	return a
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
		args = append(args, "headers", redact.Header(req.Header))
	}
	if l.verbosity >= 5 && req.GetBody != nil {
		if body, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(body)
			args = append(args, "body", redact.Body(req.Header.Get("Content-Type"), b))
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
		args = append(args, "headers", redact.Header(resp.Header))
	}
	if l.verbosity >= 5 {
		args = append(args, "body", redact.Body(resp.Header.Get("Content-Type"), body))
	}
	l.at(3, "http response", args...)
}

func withoutQuery(u *url.URL) string {
	c := *u
	c.RawQuery, c.User, c.Fragment = "", nil, ""
	return c.String()
}
