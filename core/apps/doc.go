// Package apps calls a Databricks App's /api/ routes with an OAuth 2.0
// bearer token and, when a call fails, says why and what to check.
//
// Databricks Apps accept token authentication on their /api/ routes only
// ("Connect to an API Databricks app using token authentication" in the
// Databricks documentation): the caller needs a Databricks OAuth access
// token of the app's workspace, for a principal with CAN USE permission on
// the app, carrying the scopes the app's routes require. Every other route
// needs a browser sign-in, and the platform answers a request it cannot
// authenticate with a redirect to that sign-in.
//
// # Pieces
//
// The package is built from small parts, in the manner of
// golang.org/x/oauth2:
//
//   - [New] makes an [App] from the app's base URL and an
//     [oauth2.TokenSource]. The App holds no state beyond its configuration
//     and is safe for concurrent use.
//   - [App.Transport] is an [http.RoundTripper] that adds the bearer token to
//     requests for the app's /api/ routes and refuses, before sending,
//     requests for any other route of the app or for any other host, so that
//     the token goes nowhere else.
//   - [App.Client] is an [http.Client] over that transport that does not
//     follow redirects, so that a redirect to the sign-in page is seen.
//   - [App.Do], [App.Get] and [App.Post] send one request, read the answer
//     and turn a failure into an [*Error].
//   - [Authorize] and [Diagnose] are Do for a request another HTTP client
//     sends (a binding's fetch): the same rules, and the URL to send to.
//   - [UserToken] reads the token of the App user who sent a request to
//     an app with user authorization on (X-Forwarded-Access-Token), and
//     [App.AsUser] calls an app with it, on behalf of that user.
//
// # Where the token goes
//
// One rule, here, for every binding. The app's URL is https://host[:port],
// or http for a loopback host only (localhost, 127.0.0.0/8, [::1]; see
// package weburl), because http carries the token in cleartext. A request
// is a reference resolved against the app's URL as RFC 3986 resolves one
// (so "/api/x?next=https://y" is a path with a query). It may carry the
// token only to the app's own scheme, host and port (another one is an
// *Error of Kind other_host; hosts compare without case but otherwise as
// written, so localhost is not 127.0.0.1 and a final dot makes another
// host) and only to an /api/ route, the path judged both as sent and
// decoded, with dot segments resolved and %5C read as a slash (Kind
// not_api_path). A backslash in the path, or a user name or password in
// the URL, is an [*ArgumentError]. The request goes to the app's own
// scheme and host as New normalised them, never to another spelling of
// them. testdata/routing.json is the table of cases every binding's tests
// run.
//
// # Errors
//
// An [*Error] carries what happened (Op, Status, the platform's or app's
// own Message, a Kind for programs) and a Diagnosis for people: the likely
// causes of that failure, specialised with what lakelink can see, and what
// to check. The diagnosis follows the troubleshooting list of the Databricks
// documentation:
//
//   - 401 Unauthorized: the token is invalid or expired, or lacks scopes.
//     lakelink reads the token's claims (without verifying them: only the
//     platform can) to name its expiry, principal, issuer and scopes, and
//     asks the token source, through [Refresher], whether it could have
//     renewed an expired token.
//   - 403 Forbidden: the principal lacks CAN USE permission on the app, or,
//     for user authorization, the token lacks a scope the route requires.
//   - 404 Not Found: the app URL or name is wrong, the app is not running,
//     or the route does not exist.
//   - A redirect to the sign-in page: the request carried no usable token.
//   - Network errors: DNS, refused connections, TLS certificates (which a
//     corporate proxy may replace), timeouts, and the proxy variables
//     HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
//
// No token ever appears in an error's text, its diagnosis or its message:
// the package never logs, and it scrubs the token in use from whatever an
// app or a proxy answered.
package apps
