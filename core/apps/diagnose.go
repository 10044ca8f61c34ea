package apps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// statusError diagnoses an answer whose status is not 2xx. u is the URL
// called and sent what the transport put on the request.
func (a *App) statusError(op string, u *url.URL, r *Response, sent attempt) *Error {
	e := &Error{Op: op, Status: r.Status, Message: platformMessage(r.Header, r.Body), Kind: KindHTTP}
	tok := readToken(sent.token)
	challenge := parseChallenge(r.Header.Get("WWW-Authenticate"))
	switch location := redirectTarget(u, r); {
	case r.Status == http.StatusUnauthorized:
		e.Kind = KindUnauthorized
		e.Diagnosis = a.diagnoseUnauthorized(tok, sent, challenge)
	case r.Status == http.StatusForbidden:
		e.Kind = KindForbidden
		e.Diagnosis = diagnoseForbidden(tok, e.Message, r.Body, challenge)
	case r.Status == http.StatusNotFound:
		e.Kind = KindNotFound
		e.Diagnosis = a.diagnoseNotFound(u)
	case location != nil && isSignIn(location):
		e.Kind = KindLoginRedirect
		e.Diagnosis = diagnoseSignIn(location, tok, sent)
	default:
		e.Diagnosis = a.diagnoseOtherStatus(u, r, location)
	}
	e.scrub(sent.token)
	return e
}

// diagnoseUnauthorized explains a 401: the token is invalid or expired.
func (a *App) diagnoseUnauthorized(tok tokenInfo, sent attempt, challenge map[string]string) string {
	if sent.token == "" {
		return sentences("No bearer token was sent: the token source returned an empty access token.",
			"Check the credentials lakelink was given (log in again with lakelink login, or give a client id and secret).")
	}
	var header string
	if code := challenge["error"]; code != "" {
		header = fmt.Sprintf("The WWW-Authenticate header names the error %q", code)
		if d := challenge["error_description"]; d != "" {
			header += fmt.Sprintf(" (%s)", d)
		}
		header += "."
	}
	lead := "The platform did not accept the bearer token: it is invalid or expired."
	switch {
	case !tok.Readable:
		return sentences(lead, header,
			"lakelink cannot read this token (it is not a JWT), so it cannot tell its principal, expiry or scopes.",
			"Check that it is a Databricks OAuth access token issued by the app's workspace, that it has not expired or been revoked,",
			"and that it carries the scopes the app needs.")
	case !tok.ExpiresAt.IsZero() && !time.Now().Before(tok.ExpiresAt):
		return sentences(lead, header,
			fmt.Sprintf("The token of %s expired at %s%s.", tok.principal(), tok.ExpiresAt.Format(time.RFC3339), ago(tok.ExpiresAt)),
			a.refreshAdvice())
	}
	validity := "The token has no expiry claim, so lakelink cannot tell whether it expired; if it did not,"
	if !tok.ExpiresAt.IsZero() {
		validity = fmt.Sprintf("The token of %s has not expired (it is valid until %s), so the platform refused it for another reason:",
			tok.principal(), tok.ExpiresAt.Format(time.RFC3339))
	}
	issuer := "the app's"
	if tok.Issuer != "" {
		issuer = fmt.Sprintf("the app's (this one was issued by %s)", tok.Issuer)
	}
	return sentences(lead, header, validity,
		fmt.Sprintf("it was issued by another workspace than %s, it was revoked, or it lacks the scopes the app requires.", issuer),
		fmt.Sprintf("Its scopes: %s.", tok.scopeList()))
}

// refreshAdvice says, for an expired token, whether the token source could
// have renewed it, by way of Refresher.
func (a *App) refreshAdvice() string {
	r, ok := a.tokens.(Refresher)
	if _, user := a.tokens.(forwardedToken); user {
		return "It is an App user's token (App.AsUser), which lasts as long as the user's sign-in: take the token from each request " +
			"(X-Forwarded-Access-Token) rather than keeping one; the user signs in to the app again when it has expired."
	}
	switch {
	case ok && !r.CanRefresh():
		return "lakelink could not refresh it: no refresh token or client secret — log in again (lakelink login) or give OAuthClientSecret."
	case ok:
		return fmt.Sprintf("lakelink refreshes tokens ahead of expiry; the token was rejected anyway — check the clock (this machine says %s) and that it was issued by this app's workspace.",
			time.Now().UTC().Format(time.RFC3339))
	default:
		return "The token source did not renew it, and it does not say whether it can (it is not one of lakelink's token sources): give it a way to refresh (a refresh token or a client secret) or a fresh token, and check this machine's clock."
	}
}

// diagnoseForbidden explains a 403: either a missing scope (user
// authorization) or a principal without CAN USE on the app.
func diagnoseForbidden(tok tokenInfo, message string, body []byte, challenge map[string]string) string {
	scopeProblem := challenge["error"] == "insufficient_scope" ||
		strings.Contains(strings.ToLower(message), "scope") ||
		bytes.Contains(bytes.ToLower(body), []byte("scope"))
	if !scopeProblem {
		return sentences(
			fmt.Sprintf("The token was accepted, but %s lacks CAN USE permission on the app.", tok.principal()),
			fmt.Sprintf("Ask an app owner to grant %s CAN USE in the app's Permissions.", tok.principal()))
	}
	missing := challenge["scope"]
	if missing == "" {
		missing = missingScope(message)
	}
	var what string
	scopes := append([]string(nil), tok.Scopes...)
	if missing != "" {
		what = fmt.Sprintf("The token lacks a scope this route requires: %s.", missing)
		scopes = append(scopes, scopesToAdd(missing, tok)...)
	} else {
		what = "The token lacks a scope this route requires (the answer above names it)."
		scopes = append(scopes, "<the missing scope>")
	}
	want := strings.Join(scopes, " ")
	advice := fmt.Sprintf("Log in again asking for it: lakelink login --scopes %q, or Scope=%s in the connection string with AuthScheme=OAuthPKCE.", want, want)
	if tok.Readable && !tok.isUser() && tok.Principal != "" {
		advice = fmt.Sprintf("The token is %s's: ask for the scope when getting its token, with Scope=%s in the connection string.", tok.principal(), want)
	}
	return sentences(what, fmt.Sprintf("The token's scopes: %s.", tok.scopeList()),
		"The scopes are those granted when the token was obtained, and an app's user authorization checks them per route.", advice)
}

// scopesToAdd returns the scopes named as missing that the token lacks:
// of alternatives ("a or b"), the first; of a list ("a, b", "a and b"),
// all.
func scopesToAdd(missing string, tok tokenInfo) []string {
	var add []string
	if strings.Contains(missing, " or ") {
		for _, alt := range strings.Split(missing, " or ") {
			if alt = strings.TrimSpace(alt); alt != "" && !tok.hasScope(alt) {
				return []string{alt}
			}
		}
		return nil
	}
	for _, s := range strings.FieldsFunc(missing, func(r rune) bool { return r == ',' || r == ' ' }) {
		if s != "and" && !tok.hasScope(s) {
			add = append(add, s)
		}
	}
	return add
}

// Patterns that name the missing scope in a platform or app message, as in
// "The access token is missing the scope dashboards.genie required by …"
// or "Provided OAuth token does not have required scopes: all-apis or sql".
var scopePatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bmissing (?:the |a |required )?(?:oauth )?scopes?\b[:\s]*["'` + "`" + `]?([\w.:/-]+(?:(?:\s*,\s*|\s+or\s+|\s+and\s+)[\w.:/-]+)*)`),
	regexp.MustCompile(`(?i)\b(?:requires?|required|needs?) (?:the |a )?(?:oauth )?scopes?\b[:\s]*["'` + "`" + `]?([\w.:/-]+(?:(?:\s*,\s*|\s+or\s+|\s+and\s+)[\w.:/-]+)*)`),
	regexp.MustCompile(`(?i)\bscopes? ["'` + "`" + `]?([\w.:/-]+)["'` + "`" + `]? (?:is |are )?(?:required|missing|needed)`),
}

// notScopes are words the patterns may catch that are not scope names.
var notScopes = map[string]bool{"is": true, "are": true, "the": true, "a": true, "for": true, "to": true,
	"required": true, "missing": true, "by": true, "of": true, "in": true, "it": true, "this": true}

// missingScope finds the scope a message says is missing, or "".
func missingScope(message string) string {
	for _, re := range scopePatterns {
		m := re.FindStringSubmatch(message)
		if m == nil {
			continue
		}
		s := strings.TrimRight(m[1], ".,:;")
		if first, _, _ := strings.Cut(s, " "); s != "" && !notScopes[strings.ToLower(first)] {
			return s
		}
	}
	return ""
}

// diagnoseNotFound explains a 404.
func (a *App) diagnoseNotFound(u *url.URL) string {
	return sentences(
		fmt.Sprintf("Nothing answered at %s.", shownURL(u)),
		fmt.Sprintf("Check that the app URL %s is right (the app's page in the workspace shows it) and names the intended app,", a.url),
		"that the app is deployed and running (an app that is stopped or was never deployed answers 404),",
		fmt.Sprintf("and that the app has the route %s.", u.Path))
}

// diagnoseSignIn explains a redirect to the browser sign-in.
func diagnoseSignIn(location *url.URL, tok tokenInfo, sent attempt) string {
	where := (&url.URL{Scheme: location.Scheme, Host: location.Host, Path: location.Path}).String()
	lead := fmt.Sprintf("The app's platform redirected the request to the browser sign-in (%s):", where)
	lead += " the request did not carry a usable bearer token, so the platform sent it to the browser sign-in."
	switch {
	case !sent.sent || sent.token == "":
		return sentences(lead, "No bearer token was sent: the token source returned an empty access token.")
	default:
		return sentences(lead,
			fmt.Sprintf("A bearer token was sent (of %s), but the platform did not take it:", tok.principal()),
			"check that it is a Databricks OAuth access token issued by the app's workspace and that the URL is the app's own, under /api/.")
	}
}

// diagnoseOtherStatus explains the statuses without a rule of their own.
func (a *App) diagnoseOtherStatus(u *url.URL, r *Response, location *url.URL) string {
	s := r.Status
	switch {
	case s >= 300 && s < 400 && location != nil:
		return sentences(
			fmt.Sprintf("The app answered with a redirect to %s.", shownURL(location)),
			"lakelink does not follow redirects, so that the token goes to no other URL; call the target directly if it is an /api/ route of the app.")
	case s >= 300 && s < 400:
		return "The app answered with a redirect without a Location; lakelink does not follow redirects."
	case s == http.StatusProxyAuthRequired:
		return sentences("A proxy between lakelink and the app asks for credentials: put them in the proxy variable's URL (http://user:password@proxy:port) or ask for the proxy to let the app's host through.",
			a.proxyReport(u))
	case s == http.StatusMethodNotAllowed:
		allow := r.Header.Get("Allow")
		if allow == "" {
			return "The app's route does not take this method."
		}
		return fmt.Sprintf("The app's route does not take this method; it takes %s.", allow)
	case s == http.StatusTooManyRequests:
		retry := ""
		if ra := r.Header.Get("Retry-After"); ra != "" {
			retry = fmt.Sprintf(" (Retry-After: %s)", ra)
		}
		return fmt.Sprintf("The app or its platform is limiting the rate of calls: retry later%s.", retry)
	case s == http.StatusBadGateway || s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout:
		return sentences("The app's platform could not get an answer from the app: it may be starting, restarting, crashed or overloaded.",
			"Check that the app is running and read its logs (the Logs tab of the app's page).",
			a.proxyReport(u))
	case s >= 500:
		return "The app failed while handling the call: read its logs (the Logs tab of the app's page) for the cause."
	case s >= 400:
		return "The app refused the request: see its message, and check the method, the query, the body and its Content-Type."
	}
	return fmt.Sprintf("The app answered with status %d, which Do does not treat as success.", s)
}

// redirectTarget is the Location of a 3xx answer resolved against the URL
// called, or nil.
func redirectTarget(u *url.URL, r *Response) *url.URL {
	if r.Status < 300 || r.Status >= 400 {
		return nil
	}
	loc := r.Header.Get("Location")
	if loc == "" {
		return nil
	}
	target, err := u.Parse(loc)
	if err != nil {
		return nil
	}
	return target
}

// isSignIn reports whether a redirect goes to a sign-in page: the
// workspace's OIDC endpoints or a login page.
func isSignIn(target *url.URL) bool {
	p := strings.ToLower(target.Path)
	return strings.Contains(p, "/oidc/") || strings.Contains(p, "/login")
}

// maxMessage bounds Message, in bytes.
const maxMessage = 500

// platformMessage is the app's or platform's own message in an answer:
// from a JSON body {"error_code", "message"}, {"error",
// "error_description"} or {"detail"}, the title of an HTML page, or else
// the first non-empty line of the body.
func platformMessage(h http.Header, body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	if body[0] == '{' {
		var fields map[string]json.RawMessage
		if json.Unmarshal(body, &fields) == nil {
			if m := jsonMessage(fields); m != "" {
				return truncate(m)
			}
		}
	}
	if strings.Contains(h.Get("Content-Type"), "html") || body[0] == '<' {
		if m := htmlTitle.FindSubmatch(body); m != nil {
			return truncate(strings.Join(strings.Fields(string(m[1])), " "))
		}
		return ""
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return truncate(line)
		}
	}
	return ""
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// jsonMessage picks the message out of the error shapes Databricks, OAuth
// servers and web frameworks use.
func jsonMessage(fields map[string]json.RawMessage) string {
	str := func(name string) string {
		var s string
		json.Unmarshal(fields[name], &s)
		return strings.TrimSpace(s)
	}
	if m := str("message"); m != "" { // Databricks: {"error_code", "message"}
		return m
	}
	if d := str("error_description"); d != "" { // OAuth: {"error", "error_description"}
		if e := str("error"); e != "" {
			return e + ": " + d
		}
		return d
	}
	if e := str("error"); e != "" {
		return e
	}
	if raw, ok := fields["error"]; ok { // {"error": {"message": …}}
		var inner map[string]json.RawMessage
		if json.Unmarshal(raw, &inner) == nil {
			if m := jsonMessage(inner); m != "" {
				return m
			}
		}
	}
	if raw, ok := fields["detail"]; ok { // FastAPI: a string, or a list of problems
		if d := str("detail"); d != "" {
			return d
		}
		var compact bytes.Buffer
		if json.Compact(&compact, raw) == nil && compact.Len() > 0 && compact.String() != "null" {
			return compact.String()
		}
	}
	return str("error_code")
}

// truncate cuts s to maxMessage bytes on a character boundary.
func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// parseChallenge returns the parameters of the first challenge of a
// WWW-Authenticate header (RFC 9110 11.6.1), such as
// Bearer error="invalid_token", error_description="…". Names are lower
// case.
func parseChallenge(h string) map[string]string {
	params := map[string]string{}
	h = strings.TrimSpace(h)
	if h == "" {
		return params
	}
	_, rest, _ := strings.Cut(h, " ") // the scheme
	for {
		rest = strings.TrimLeft(rest, " \t,")
		name, after, ok := strings.Cut(rest, "=")
		if !ok || strings.ContainsAny(strings.TrimSpace(name), " \t") {
			return params // the end, or the next challenge's scheme
		}
		name = strings.ToLower(strings.TrimSpace(name))
		after = strings.TrimLeft(after, " \t")
		var value string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			value, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			end := strings.IndexAny(after, ", \t")
			if end < 0 {
				end = len(after)
			}
			value, rest = after[:end], after[end:]
		}
		if _, seen := params[name]; !seen {
			params[name] = value
		}
	}
}

// ago says how long ago t was, in whole seconds, as " (5s ago)"; "" for
// less than a second.
func ago(t time.Time) string {
	d := time.Now().Sub(t).Round(time.Second)
	if d < time.Second {
		return ""
	}
	return fmt.Sprintf(" (%s ago)", d)
}
