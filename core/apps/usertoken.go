package apps

import (
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"

	"github.com/lakelink/lakelink/core/auth"
)

// UserTokenHeader is the header in which Databricks Apps forward the
// signed-in user's access token to an app with user authorization on.
const UserTokenHeader = "X-Forwarded-Access-Token"

// ErrNoUserToken is UserToken's error for a request without the header:
// the app does not have user authorization on, or the request did not
// come through the Apps platform.
var ErrNoUserToken = errors.New("no " + UserTokenHeader + " header: turn on user authorization for the app " +
	"(Databricks Apps > the app > Configure > User authorization) and add the API scopes it needs")

// UserToken returns the access token of the App user who sent r, from its
// X-Forwarded-Access-Token header (Apps' user authorization): a workspace
// OAuth token of that user, restricted to the app's user API scopes, valid
// for as long as the request needs it. Use it for this request only (with
// [App.AsUser], or lakebase's Pool.AsUser); do not store it.
//
// A request without the header is [ErrNoUserToken]. Two such headers, a
// comma-separated list, a value over 64 KiB or anything else than one
// bearer token is an error too; no error repeats the value.
func UserToken(r *http.Request) (string, error) {
	values := r.Header.Values(UserTokenHeader)
	switch {
	case len(values) == 0 || len(values) == 1 && values[0] == "":
		return "", ErrNoUserToken
	case len(values) > 1:
		return "", fmt.Errorf("%d %s headers: a request carries one user's token; "+
			"send the request through the Apps platform, which sets the header itself", len(values), UserTokenHeader)
	}
	if err := auth.CheckBearerToken(values[0]); err != nil {
		return "", fmt.Errorf("%s header: %w", UserTokenHeader, err)
	}
	return values[0], nil
}

// AsUser returns an App like a, with the same options, that authorizes
// its calls with token, an App user's access token (see [UserToken]),
// rather than with a's token source: a call on behalf of that user,
// carrying only the scopes the user granted. A token without the shape of
// one bearer token (auth.CheckBearerToken: a list, "Bearer " before it,
// over 64 KiB) is an error (an *auth.BearerTokenError) that does not
// repeat it. The token is not renewed: make the App for the request that
// brought the token, and let it go with the request. It keeps no cookies,
// even when a's client has a jar: a session cookie would speak for
// whoever it belongs to, and the user's token is the only credential of
// its calls. The App is cheap: it shares a's transport. Printing it (any
// verb) never shows the token.
func (a *App) AsUser(token string) (*App, error) {
	if err := auth.CheckBearerToken(token); err != nil {
		return nil, fmt.Errorf("apps: AsUser: the App user's access token: %w", err)
	}
	u := *a
	u.tokens = forwardedToken(token)
	if u.httpClient != nil && u.httpClient.Jar != nil {
		c := *u.httpClient
		c.Jar = nil
		u.httpClient = &c
	}
	u.client = u.Client()
	return &u, nil
}

// Format prints the App as apps.App{URL: ...}, whatever the verb: never
// its token source, which may hold a token (AsUser's).
func (a App) Format(f fmt.State, _ rune) { fmt.Fprintf(f, "apps.App{URL: %s}", a.url) }

// forwardedToken is an App user's forwarded token as a token source: the one
// token, never renewed.
type forwardedToken string

func (t forwardedToken) Token() (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: string(t), TokenType: "Bearer"}, nil
}

// Format hides the token, whatever the verb.
func (forwardedToken) Format(f fmt.State, _ rune) { fmt.Fprint(f, "apps.forwardedToken(***)") }
