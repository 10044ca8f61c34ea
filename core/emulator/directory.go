package emulator

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// Principal kinds, as carried in a token's principal_type claim.
const (
	kindUser             = "user"
	kindServicePrincipal = "service_principal"
)

// knownScopes are the OAuth scopes the workspace advertises and grants.
// The names are Databricks' own (all-apis for every REST API, offline_access
// for a refresh token, and the fine-grained scopes Apps' user authorization
// uses).
var knownScopes = []string{
	"all-apis", "offline_access", "sql", "files", "file.files", "dashboards.genie",
	"iam.current-user:read", "iam.access-control:read", "serving.serving-endpoints",
	"vectorsearch.vector-search-indexes", "vectorsearch.vector-search-endpoints",
}

// principal is a workspace identity: a user or a service principal.
type principal struct {
	Name        string // what tokens carry as sub: a user's email, a service principal's application id
	ID          int64  // the SCIM id
	DisplayName string
	Kind        string
	// CanUseApp is the CAN USE permission on the emulated app.
	CanUseApp bool
	// CanConnectLakebase allows minting credentials for the Lakebase instance
	// and endpoint.
	CanConnectLakebase bool
}

// oauthClient is a registered OAuth client: the databricks-cli public client,
// a service principal's OAuth secret, or a custom app integration.
type oauthClient struct {
	ID     string
	Secret string // empty for a public client, which must use PKCE
	// ServicePrincipal is whom client_credentials authenticates; nil for
	// clients that only sign users in.
	ServicePrincipal *principal
	RedirectURIs     []string
	// LoopbackRedirects accepts what databricks-cli uses: http://localhost
	// on ports 8020-8040 and http://127.0.0.1 on any port.
	LoopbackRedirects bool
	Scopes            []string // the scopes this client may be granted
}

// OAuthApp registers an extra OAuth client (a custom app integration) with
// the emulated workspace, for testing one's own authorization-code flow.
type OAuthApp struct {
	ClientID string
	// ClientSecret makes it a confidential client; empty means a public one.
	ClientSecret string
	// RedirectURIs are matched exactly.
	RedirectURIs []string
}

// ParseOAuthApp parses the --oauth-app flag form CLIENT_ID=URI[,URI...].
func ParseOAuthApp(s string) (OAuthApp, error) {
	id, uris, ok := strings.Cut(s, "=")
	if !ok || id == "" || uris == "" {
		return OAuthApp{}, fmt.Errorf("oauth app %q: want CLIENT_ID=REDIRECT_URI[,REDIRECT_URI...]", s)
	}
	app := OAuthApp{ClientID: id}
	for _, u := range strings.Split(uris, ",") {
		parsed, err := url.Parse(u)
		if err != nil || parsed.Scheme == "" || parsed.Host == "" || parsed.Fragment != "" {
			return OAuthApp{}, fmt.Errorf("oauth app %q: redirect URI %q is not an absolute URL without a fragment", id, u)
		}
		app.RedirectURIs = append(app.RedirectURIs, u)
	}
	return app, nil
}

// directory holds the workspace's principals and OAuth clients. The
// clients and the three principals made at start never change; users added
// later (addUser) join byName under mu.
type directory struct {
	user             *principal // whom the authorize endpoint signs in
	servicePrincipal *principal
	outsider         *principal
	clients          map[string]*oauthClient

	mu     sync.RWMutex
	byName map[string]*principal // every principal, by the name tokens carry
	added  int                   // users added by addUser
}

// maxAddedUsers bounds the users addUser adds, so that a runaway test
// cannot grow the emulator (and its backend's roles) without end.
const maxAddedUsers = 10_000

// firstAddedUserID is the SCIM id of the first user addUser adds; the
// following ones count up from it, clear of the ids made at start.
const firstAddedUserID = 10_001

var errTooManyUsers = fmt.Errorf("the emulator holds at most %d added users", maxAddedUsers)

// checkEmail accepts what the emulator takes for an email address: one @
// with text on both sides, no white space.
func checkEmail(email string) error {
	local, domain, _ := strings.Cut(email, "@")
	if local == "" || domain == "" || strings.Contains(domain, "@") || strings.IndexFunc(email, unicode.IsSpace) >= 0 {
		return errors.New("want an email address (one @, no spaces) such as " + defaultUserEmail)
	}
	return nil
}

// newDirectory builds the workspace: the user, the service principals, the
// databricks-cli client, the app's own OAuth integration (whose browser
// sign-in returns to appCallback) and the extra apps, whose client ids must
// be new.
func newDirectory(userEmail, appCallback string, apps []OAuthApp) (*directory, error) {
	servicePrincipalScopes := slices.DeleteFunc(slices.Clone(knownScopes), func(s string) bool { return s == "offline_access" })
	d := &directory{
		user: &principal{Name: userEmail, ID: 1001, DisplayName: "Demo User", Kind: kindUser,
			CanUseApp: true, CanConnectLakebase: true},
		servicePrincipal: &principal{Name: newApplicationID(), ID: 2001, DisplayName: "lakelink-demo-sp",
			Kind: kindServicePrincipal, CanUseApp: true, CanConnectLakebase: true},
		outsider: &principal{Name: newApplicationID(), ID: 2002, DisplayName: "lakelink-outsider-sp",
			Kind: kindServicePrincipal},
		clients: map[string]*oauthClient{},
		byName:  map[string]*principal{},
	}
	for _, p := range []*principal{d.user, d.servicePrincipal, d.outsider} {
		d.byName[p.Name] = p
	}
	d.clients["databricks-cli"] = &oauthClient{ID: "databricks-cli", LoopbackRedirects: true, Scopes: knownScopes}
	d.clients[appName] = &oauthClient{ID: appName, Secret: "dose" + randomHex(32),
		RedirectURIs: []string{appCallback}, Scopes: knownScopes}
	for _, sp := range []*principal{d.servicePrincipal, d.outsider} {
		d.clients[sp.Name] = &oauthClient{ID: sp.Name, Secret: "dose" + randomHex(32), ServicePrincipal: sp,
			Scopes: servicePrincipalScopes}
	}
	for _, app := range apps {
		if d.clients[app.ClientID] != nil {
			return nil, fmt.Errorf("oauth app %q: the client id is reserved (databricks-cli, %s, a service principal's) or given twice",
				app.ClientID, appName)
		}
		d.clients[app.ClientID] = &oauthClient{ID: app.ClientID, Secret: app.ClientSecret,
			RedirectURIs: app.RedirectURIs, Scopes: knownScopes}
	}
	return d, nil
}

// principalByName finds a principal by the name tokens carry.
func (d *directory) principalByName(name string) *principal {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.byName[name]
}

// addUser returns the user with this email, adding it (with CAN USE on
// the app and the right to connect to Lakebase) unless it exists.
func (d *directory) addUser(email string) (p *principal, created bool, err error) {
	if err := checkEmail(email); err != nil {
		return nil, false, fmt.Errorf("email %q: %w", email, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.byName[email]; p != nil {
		return p, false, nil
	}
	if d.added >= maxAddedUsers {
		return nil, false, errTooManyUsers
	}
	local, _, _ := strings.Cut(email, "@")
	p = &principal{Name: email, ID: firstAddedUserID + int64(d.added), DisplayName: local, Kind: kindUser,
		CanUseApp: true, CanConnectLakebase: true}
	d.byName[email] = p
	d.added++
	return p, true, nil
}

// redirectAllowed reports whether uri is registered for the client.
func (c *oauthClient) redirectAllowed(uri string) bool {
	if slices.Contains(c.RedirectURIs, uri) {
		return true
	}
	if !c.LoopbackRedirects {
		return false
	}
	u, err := url.Parse(uri)
	if err != nil || u.Scheme != "http" || u.User != nil {
		return false
	}
	port, err := strconv.Atoi(u.Port())
	if err != nil || port < 1 || port > 65535 {
		return false
	}
	switch u.Hostname() {
	case "127.0.0.1":
		return true
	case "localhost":
		return port >= 8020 && port <= 8040
	}
	return false
}

// checkScopes returns the first requested scope the client may not have.
func (c *oauthClient) checkScopes(requested []string) (denied string, ok bool) {
	for _, s := range requested {
		if !slices.Contains(c.Scopes, s) {
			return s, false
		}
	}
	return "", true
}

// newApplicationID returns a UUID-shaped id, like a service principal's
// application id.
func newApplicationID() string {
	h := randomHex(16)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
