//go:build wasip1

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"time"
	"unsafe"

	"github.com/lakelink/lakelink/core/apps"
)

// hostHTTP is the host's HTTP client (README.md: "The HTTP import"): it
// sends the request described by the JSON at reqPtr, waits for the answer,
// writes the response JSON into a buffer it gets from lakelink_alloc and
// returns that buffer's address<<32 | length.
//
//go:wasmimport lakelink http
func hostHTTP(reqPtr, reqLen uint32) uint64

// httpRequest is the JSON the import receives.
type httpRequest struct {
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	Headers   map[string][]string `json:"headers"`
	Body      []byte              `json:"body"` // base64
	TimeoutMS int64               `json:"timeout_ms"`
}

// httpResponse is the JSON the import returns: the answer, or Error when
// there was none (the host could not connect, the timeout passed): "CODE:
// text" with the errno or Node code the host knows, which
// apps.ForeignNetworkError turns into the Go error of the same failure.
type httpResponse struct {
	Status  int                 `json:"status"`
	Headers map[string][]string `json:"headers"`
	Body    []byte              `json:"body"` // base64
	Error   string              `json:"error"`
}

// hostTransport is the http.RoundTripper over the import: every request
// the core makes goes through it (it is the HTTPTransport of process).
type hostTransport struct{}

func (hostTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	in := httpRequest{Method: req.Method, URL: req.URL.String(), Headers: req.Header.Clone()}
	if in.Headers == nil {
		in.Headers = http.Header{}
	}
	if in.Method == "" {
		in.Method = http.MethodGet
	}
	if req.Host != "" && req.Host != req.URL.Host {
		in.Headers["Host"] = []string{req.Host}
	}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading the request body: %w", err)
		}
		in.Body = body
	}
	deadline, hasDeadline := req.Context().Deadline()
	if hasDeadline { // rounded up, so that the host gives up no sooner than the deadline
		in.TimeoutMS = max((time.Until(deadline) + time.Millisecond - 1).Milliseconds(), 1)
	}
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	data, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	result := hostHTTP(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(data)))), uint32(len(data)))
	runtime.KeepAlive(data)
	raw, ok := take(uint32(result>>32), uint32(result))
	if !ok {
		return nil, errors.New("the host's lakelink.http import returned a buffer lakelink_alloc did not lend")
	}
	var out httpResponse
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("the host's lakelink.http import returned malformed JSON: %v", err)
	}
	if out.Error != "" {
		if hasDeadline && !time.Now().Before(deadline) { // the host gave up at timeout_ms
			return nil, fmt.Errorf("%s (%w)", out.Error, context.DeadlineExceeded)
		}
		return nil, apps.ForeignNetworkError(out.Error, req.URL.Hostname())
	}
	if out.Status < 100 || out.Status > 999 {
		return nil, fmt.Errorf("the host's lakelink.http import returned status %d", out.Status)
	}
	header := http.Header{}
	for name, values := range out.Headers { // hosts such as fetch give lower-case names
		header[http.CanonicalHeaderKey(name)] = append(header[http.CanonicalHeaderKey(name)], values...)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", out.Status, http.StatusText(out.Status)), StatusCode: out.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, Body: io.NopCloser(bytes.NewReader(out.Body)), ContentLength: int64(len(out.Body)),
		Request: req,
	}, nil
}
