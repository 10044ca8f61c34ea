// Package redact is the one definition of what a secret looks like in the
// text lakelink shows: log lines, error messages, normalized connection
// strings. Fields are recognised by their key name (IsSecretKey) at every
// depth of a JSON document, in form-encoded bodies and query strings, and
// in free text; a URL's userinfo password is masked wherever a URL is
// shown. Every log path and every error that quotes what a server said
// goes through this package.
package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Mask stands for a secret value.
const Mask = "***"

// IsSecretKey reports whether a JSON field, form or query parameter,
// header or key=value pair named key holds a credential. It matches
// case-insensitively and ignores "_", "-" and ".": any name ending in
// token, secret, password or verifier (access_token, OAuthClientSecret,
// X-Forwarded-Access-Token, code_verifier), and code, assertion,
// client_assertion, authorization, proxy-authorization, cookie,
// set-cookie, credential(s), private_key, api_key, passwd and pwd.
func IsSecretKey(key string) bool {
	k := strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', '.':
			return -1
		}
		return r
	}, strings.ToLower(key))
	switch k {
	case "code", "assertion", "clientassertion", "authorization", "proxyauthorization", "cookie", "setcookie",
		"credential", "credentials", "privatekey", "apikey", "passwd", "pwd":
		return true
	}
	for _, suffix := range []string{"token", "secret", "password", "verifier"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

// Body renders an HTTP body for a log line with every secret masked: a
// JSON document with the value of every secret key masked at every depth,
// a form-encoded body with its secret parameters masked, any other text
// through Text. Bodies that are not text are summarised by their length.
func Body(contentType string, body []byte) string {
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	mediaType, _, _ := mime.ParseMediaType(contentType)
	if out, ok := jsonDocument(body); ok {
		return out
	}
	if mediaType == "application/x-www-form-urlencoded" {
		if form, err := url.ParseQuery(string(body)); err == nil {
			return Form(form)
		}
	}
	if !utf8.Valid(body) || bytes.IndexByte(body, 0) >= 0 {
		return fmt.Sprintf("(%d bytes of %s, not shown)", len(body), mediaType)
	}
	return Text(string(body))
}

// Form renders form or query parameters, sorted by key, with the values
// of secret keys masked.
func Form(form url.Values) string {
	masked := make(url.Values, len(form))
	for k, vs := range form {
		if IsSecretKey(k) {
			vs = []string{Mask}
		}
		masked[k] = vs
	}
	return strings.ReplaceAll(masked.Encode(), url.QueryEscape(Mask), Mask)
}

// Header renders HTTP headers with credentials masked: an authorization's
// scheme is kept (Bearer ***), the value of any other secret header
// (cookies, X-Forwarded-Access-Token) is not.
func Header(h http.Header) string {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		v := strings.Join(h[name], ",")
		if IsSecretKey(name) {
			v = maskCredentialValue(v)
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", name, Text(v))
	}
	return b.String()
}

// maskCredentialValue masks an Authorization-like value, keeping a known
// scheme.
func maskCredentialValue(v string) string {
	scheme, _, found := strings.Cut(v, " ")
	switch strings.ToLower(scheme) {
	case "bearer", "basic", "negotiate", "digest":
		if found {
			return scheme + " " + Mask
		}
	}
	return Mask
}

// jsonDocument masks a whole, valid JSON document; ok is false when body
// is not one.
func jsonDocument(body []byte) (string, bool) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil || d.More() {
		return "", false
	}
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if e.Encode(maskJSON(v)) != nil {
		return "", false
	}
	return strings.TrimSuffix(b.String(), "\n"), true
}

// maskJSON masks the value of every secret key of v, at every depth.
func maskJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if IsSecretKey(k) && e != nil {
				x[k] = Mask
			} else {
				x[k] = maskJSON(e)
			}
		}
	case []any:
		for i := range x {
			x[i] = maskJSON(x[i])
		}
	case string:
		return Text(x)
	}
	return v
}

var (
	// jsonKey is a quoted key and its colon, as in JSON (or JSON quoted
	// once more, \"key\":).
	jsonKey = regexp.MustCompile(`(\\*)"([A-Za-z0-9_.\-]{1,64})\\*"\s*:\s*`)
	// pairKey is key= as in a query string, a form, a connection string or
	// a key=value log line.
	pairKey = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.\-])([A-Za-z][A-Za-z0-9_.\-]{0,63})=`)
	// headerKey is a header line, "Name: value", at the start of a line
	// (after any "> " or "< * " of a request dump).
	headerKey = regexp.MustCompile(`(?m)^[<>*\s]*([A-Za-z][A-Za-z0-9_\-]{0,63}):[ \t]*`)
	// authScheme is an Authorization value anywhere.
	authScheme = regexp.MustCompile(`(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{4,}`)
	// jwt is a JSON Web Token (Databricks' OAuth access tokens are JWTs).
	jwt = regexp.MustCompile(`\beyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*`)
	// pat is a Databricks personal access token.
	pat = regexp.MustCompile(`\bdapi[0-9a-f]{32}(-\d+)?\b`)
	// urlAuthority is a URL's scheme and authority.
	urlAuthority = regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#"'<>]*`)
)

// Text masks the secrets in free text, such as an error message that
// quotes a server's answer, whole or cut short: the value of every secret
// key written as JSON ("access_token": "..."), as key=value or as a
// header line; Bearer and Basic credentials; JSON Web Tokens and
// Databricks personal access tokens; and URL userinfo passwords.
func Text(s string) string {
	s = maskValues(s, jsonKey, 2)
	s = maskValues(s, pairKey, 1)
	s = maskValues(s, headerKey, 1)
	s = authScheme.ReplaceAllString(s, "$1 "+Mask)
	s = jwt.ReplaceAllString(s, Mask)
	s = pat.ReplaceAllString(s, Mask)
	return urlAuthority.ReplaceAllStringFunc(s, URL)
}

// URL returns u with the password of its userinfo, if any, masked:
// https://user:***@host/path. Anything that is not a URL with a password
// is returned unchanged.
func URL(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return u
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return u
	}
	user, _, hasPassword := strings.Cut(rest[:at], ":")
	if !hasPassword {
		return u
	}
	return scheme + "://" + user + ":" + Mask + rest[at:]
}

// maskValues masks the value after each match of key whose submatch
// group names a secret key.
func maskValues(s string, key *regexp.Regexp, group int) string {
	var b strings.Builder
	last := 0
	for _, m := range key.FindAllStringSubmatchIndex(s, -1) {
		if m[0] < last || !IsSecretKey(s[m[2*group]:m[2*group+1]]) {
			continue
		}
		start := m[1]
		end := valueEnd(s, start, key == headerKey)
		if end <= start {
			continue
		}
		b.WriteString(s[last:start])
		b.WriteString(maskedLike(s[start:end]))
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// maskedLike is the mask for value, keeping its quotes.
func maskedLike(value string) string {
	for _, q := range []string{`\"`, `"`, `'`} {
		if strings.HasPrefix(value, q) && len(value) >= 2*len(q) && strings.HasSuffix(value, q) {
			return q + Mask + q
		}
		if strings.HasPrefix(value, q) {
			return q + Mask
		}
	}
	return Mask
}

// valueEnd returns where the value starting at s[start] ends: after its
// closing quote, bracket or the end of the text when it is quoted or an
// object or array (cut short or not); at the end of the line for a header
// line; else at the first delimiter.
func valueEnd(s string, start int, line bool) int {
	rest := s[start:]
	switch {
	case rest == "":
		return start
	case strings.HasPrefix(rest, `\"`):
		if i := strings.Index(rest[2:], `\"`); i >= 0 {
			return start + 2 + i + 2
		}
		return len(s)
	case rest[0] == '"' || rest[0] == '\'':
		for i := 1; i < len(rest); i++ {
			switch rest[i] {
			case '\\':
				i++
			case rest[0]:
				return start + i + 1
			}
		}
		return len(s)
	case rest[0] == '{' || rest[0] == '[':
		return start + bracketEnd(rest)
	case line:
		if i := strings.IndexAny(rest, "\r\n"); i >= 0 {
			return start + i
		}
		return len(s)
	}
	if i := strings.IndexAny(rest, "&;, \t\r\n\"'}])<>"); i >= 0 {
		return start + i
	}
	return len(s)
}

// bracketEnd returns the length of the JSON object or array that s
// starts with, or len(s) when it is cut short.
func bracketEnd(s string) int {
	depth := 0
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(s)
}
