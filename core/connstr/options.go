package connstr

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lakelink/lakelink/core/redact"
)

// AuthScheme selects how lakelink obtains a Databricks token.
type AuthScheme string

// The values of AuthScheme. The empty AuthScheme means AuthAuto.
const (
	// AuthAuto lets lakelink choose the scheme from the other options given.
	AuthAuto AuthScheme = "Auto"
	// AuthDatabricks is Databricks unified authentication (databricks-sdk-go):
	// a ~/.databrickscfg profile, DATABRICKS_* environment variables, the
	// Databricks CLI's token cache, or an app's injected service principal.
	AuthDatabricks AuthScheme = "Databricks"
	// AuthOAuthClient is the OAuth 2.0 client credentials grant, for a
	// service principal (OAuthClientId and OAuthClientSecret).
	AuthOAuthClient AuthScheme = "OAuthClient"
	// AuthOAuthPKCE is the OAuth 2.0 authorization code grant with PKCE, for
	// a user signing in through a browser.
	AuthOAuthPKCE AuthScheme = "OAuthPKCE"
	// AuthToken uses the static bearer token given as Token.
	AuthToken AuthScheme = "Token"
	// AuthPassword uses the Lakebase User and Password as given.
	AuthPassword AuthScheme = "Password"
)

// InitiateOAuth tells whether and how lakelink itself obtains OAuth tokens,
// as opposed to using the ones given as OAuthAccessToken and
// OAuthRefreshToken.
type InitiateOAuth string

// The values of InitiateOAuth.
const (
	// InitiateOff: use the tokens given in the options, never start a grant.
	InitiateOff InitiateOAuth = "OFF"
	// InitiateGetAndRefresh: obtain tokens (signing in if needed) and
	// refresh them when they expire.
	InitiateGetAndRefresh InitiateOAuth = "GETANDREFRESH"
	// InitiateRefresh: only refresh the tokens given or stored; never sign in.
	InitiateRefresh InitiateOAuth = "REFRESH"
)

// SSLMode is the TLS policy of a Lakebase connection, as libpq's sslmode.
type SSLMode string

// The values of SSLMode.
const (
	// SSLDisable: no TLS.
	SSLDisable SSLMode = "disable"
	// SSLRequire: TLS, without verifying the server's certificate.
	SSLRequire SSLMode = "require"
	// SSLVerifyCA: TLS, with a certificate signed by a trusted CA.
	SSLVerifyCA SSLMode = "verify-ca"
	// SSLVerifyFull: TLS, with a trusted certificate for the host connected to.
	SSLVerifyFull SSLMode = "verify-full"
)

// Options is a parsed connection string. Go programs may also fill it
// directly. The zero value of a field means "not given" (the component that
// uses the field then applies its default); there is no way to give a key
// the zero value explicitly, so for example OAuthExpiresIn=0 is the same as
// leaving OAuthExpiresIn out.
//
// Each field's comment starts with its key in a connection string. Fields
// marked (secret) are never shown by String or Redacted, nor by errors.
//
// Options holds credentials: print it with String (which fmt uses for %v
// and %s), never by its fields.
type Options struct {
	// Workspace

	// Host ("Host", alias "DatabricksInstance") is the Databricks workspace
	// URL, such as https://adb-123.4.azuredatabricks.net.
	Host string
	// Profile ("Profile") is a profile in a .databrickscfg file.
	Profile string
	// ConfigFile ("ConfigFile") is the path of the .databrickscfg file to
	// read profiles from, instead of ~/.databrickscfg.
	ConfigFile string
	// DiscoveryURL ("DiscoveryURL") is the URL of an OAuth 2.0
	// authorization server's metadata document (RFC 8414), for a server
	// other than the workspace's own. An http or https URL.
	DiscoveryURL string

	// Auth

	// AuthScheme ("AuthScheme") selects how tokens are obtained; the zero
	// value means AuthAuto. Parsed case-insensitively.
	AuthScheme AuthScheme
	// OAuthClientID ("OAuthClientId") is the OAuth client (application) ID.
	OAuthClientID string
	// OAuthClientSecret ("OAuthClientSecret", secret) is the OAuth client
	// secret of a service principal.
	OAuthClientSecret string
	// Token ("Token", secret) is a static bearer token: a personal access
	// token (dapi...) or an OAuth access token (a JWT), such as an App
	// user's X-Forwarded-Access-Token. It must have the shape of one
	// bearer token (package auth's CheckBearerToken: no list, no "Bearer "
	// before it, at most 64 KiB), else the token source is an error.
	Token string
	// Scope ("Scope") is the OAuth scopes to ask for, separated by spaces or
	// commas; see Options.Scopes.
	Scope string
	// CallbackURL ("CallbackURL") is the redirect URI of the browser
	// sign-in, such as http://localhost:8020/callback. An http or https URL.
	CallbackURL string
	// InitiateOAuth ("InitiateOAuth") tells whether lakelink obtains OAuth
	// tokens itself. Parsed case-insensitively.
	InitiateOAuth InitiateOAuth
	// OAuthSettingsLocation ("OAuthSettingsLocation") is where OAuth tokens
	// are stored between connections: a file path, or memory://NAME for a
	// store shared within this process only.
	OAuthSettingsLocation string
	// OAuthAccessToken ("OAuthAccessToken", secret) is an OAuth access token
	// obtained earlier.
	OAuthAccessToken string
	// OAuthRefreshToken ("OAuthRefreshToken", secret) is an OAuth refresh
	// token obtained earlier.
	OAuthRefreshToken string
	// OAuthVerifier ("OAuthVerifier", secret) is an authorization code
	// brought from another device, to complete a sign-in started there.
	OAuthVerifier string
	// OAuthExpiresIn ("OAuthExpiresIn") is how many seconds the
	// OAuthAccessToken lives after OAuthTokenTimestamp. A whole number >= 0.
	OAuthExpiresIn int
	// OAuthTokenTimestamp ("OAuthTokenTimestamp") is when OAuthAccessToken
	// was issued, in milliseconds since the Unix epoch. A whole number >= 0.
	OAuthTokenTimestamp int64

	// General

	// Timeout ("Timeout") bounds each network operation. Written as whole
	// seconds ("30") or a Go duration ("1m30s", "1.5s"); must be > 0.
	// String writes whole seconds as a number, other durations as Go does.
	Timeout time.Duration
	// Logfile ("Logfile") is the file lakelink appends its log to.
	Logfile string
	// Verbosity ("Verbosity") is how much is logged, 1 (errors only) to 5
	// (request and response bodies, secrets masked).
	Verbosity int

	// Lakebase

	// Server ("Server") is the Lakebase Postgres host name.
	Server string
	// Port ("Port") is the Lakebase Postgres port, 1 to 65535.
	Port int
	// Database ("Database") is the Postgres database name.
	Database string
	// User ("User") is the Postgres role name.
	User string
	// Password ("Password", secret) is the Postgres password, for
	// AuthPassword.
	Password string
	// Instance ("Instance") is the name of a Lakebase Provisioned database
	// instance.
	Instance string
	// Endpoint ("Endpoint") is a Lakebase Autoscaling endpoint, written
	// projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT.
	Endpoint string
	// SSLMode ("SSLMode") is the TLS policy. Parsed case-insensitively.
	// Empty means package lakebase's default: verify-full for a Lakebase
	// host or when SSLServerCert is given, require for other hosts.
	SSLMode SSLMode
	// SSLServerCert ("SSLServerCert") is the CA certificate to verify the
	// server with: a file path, or the PEM text itself.
	SSLServerCert string
	// ApplicationName ("ApplicationName") is reported to Postgres as
	// application_name.
	ApplicationName string
	// MaxConnections ("MaxConnections") is the largest size of a pool
	// (lakebase.Connect), 1 to 2147483647 (math.MaxInt32); package lakebase's default is 10.
	MaxConnections int
	// MinConnections ("MinConnections") is how many sessions a pool keeps
	// open even when idle, 0 to MaxConnections; default 0.
	MinConnections int
	// MaxIdleTime ("MaxIdleTime") is how long a pool's session may stay
	// idle before it is closed, > 0; package lakebase's default is 10m.
	MaxIdleTime time.Duration
	// MaxLifetime ("MaxLifetime") is how long a pool's session may live
	// before it is replaced (when idle, never during a statement or a
	// transaction), > 0; package lakebase's default is 1h.
	MaxLifetime time.Duration
	// PoolTimeout ("PoolTimeout") is how long taking a session from a pool
	// may wait for a free one, > 0; package lakebase's default is 30s.
	PoolTimeout time.Duration
	// MaxUsers ("MaxUsers") is how many App users' pools a pool keeps
	// (least recently used evicted beyond it), 1 to 2147483647; default 50.
	MaxUsers int
	// MaxUserConnections ("MaxUserConnections") is the largest size of
	// one App user's pool, 1 to 2147483647; default 2.
	MaxUserConnections int
	// UserIdleTime ("UserIdleTime") is how long an App user's pool may go
	// unused before it is closed, > 0; default 10m.
	UserIdleTime time.Duration
}

// redacted stands for a secret value in String and Redacted.
const redacted = redact.Mask

// Parse parses the connection string s (see the package documentation for
// the grammar). It is all-or-nothing: on error it returns a nil *Options
// and an [*Error].
func Parse(s string) (*Options, error) {
	o := new(Options)
	if err := parse(s, o); err != nil {
		return nil, err
	}
	return o, nil
}

// Set sets one property by its key name or an alias, matched
// case-insensitively, with the same validation as Parse. The value is taken
// literally: it is not unquoted nor trimmed. An empty value clears the
// property. Set is how exports apply keyword overrides, such as Python's
// connect(s, Port=5433). On error, o is unchanged and the error is an
// [*Error].
func (o *Options) Set(key, value string) error {
	p, err := lookup(strings.TrimSpace(key))
	if err != nil {
		return err
	}
	return p.assign(o, value, nil)
}

// String returns the normalized connection string: canonical key names in
// the order of [Keys], only the keys that are set, secret values and URL
// passwords as ***,
// and values quoted where needed (see [Options.Format]). Parse(o.String())
// gives back o whenever o holds no secrets and valid values.
//
// String has a value receiver so that fmt prints an Options value, or a
// struct holding one, through it rather than field by field.
func (o Options) String() string { return o.encode(false) }

// GoString is String for fmt's %#v, so that it too never shows a secret.
func (o Options) GoString() string { return "connstr.Options(" + strconv.Quote(o.encode(false)) + ")" }

// Format returns the connection string like String, but with the real
// secret values: Parse(o.Format()) gives back o for any o with valid
// values. It exists to pass a complete connection string on, for example to
// a child process. Its result holds credentials: never log it, print it or
// put it in an error.
func (o *Options) Format() string {
	if o == nil {
		return ""
	}
	return o.encode(true)
}

// Redacted returns, for each key that is set, its canonical name mapped to
// its normalized value (unquoted), with "***" for secrets and URL passwords. The C ABI returns
// it as JSON.
func (o *Options) Redacted() map[string]string {
	m := make(map[string]string)
	if o == nil {
		return m
	}
	for i := range properties {
		p := &properties[i]
		if v := p.get(o); v != "" {
			m[p.name] = p.shown(v)
		}
	}
	return m
}

// shown is the one redaction rule of String and Redacted: a secret's
// value is ***, and a value that is a URL (Host, Server, DiscoveryURL,
// CallbackURL, any property given one) shows its userinfo password as ***.
func (p *property) shown(v string) string {
	if p.secret {
		return redacted
	}
	return redact.URL(v)
}

// Scopes returns Scope split on whitespace and commas, without empty parts;
// nil when there are none.
func (o *Options) Scopes() []string {
	if o == nil {
		return nil
	}
	scopes := strings.FieldsFunc(o.Scope, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
	if len(scopes) == 0 {
		return nil
	}
	return scopes
}

// Keys returns the canonical key names, in the order String writes them.
func Keys() []string {
	keys := make([]string, len(properties))
	for i := range properties {
		keys[i] = properties[i].name
	}
	return keys
}

// IsSecret reports whether key, a key name or alias matched
// case-insensitively, holds a secret. It is false for unknown keys.
func IsSecret(key string) bool {
	p := find(strings.TrimSpace(key))
	return p != nil && p.secret
}

// encode writes o as a connection string, with secrets as *** unless
// reveal is set.
func (o *Options) encode(reveal bool) string {
	var b strings.Builder
	for i := range properties {
		p := &properties[i]
		v := p.get(o)
		if v == "" {
			continue
		}
		if !reveal {
			v = p.shown(v)
		}
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(quote(v))
	}
	return b.String()
}

// quote returns v as it is written in a connection string: as is, or
// quoted if it holds ; = ' " or begins or ends with whitespace. It quotes
// with ' unless v holds ' and not ", and doubles the quote character inside.
func quote(v string) string {
	if !strings.ContainsAny(v, `;='"`) && v == strings.TrimSpace(v) {
		return v
	}
	q := `'`
	if strings.Contains(v, `'`) && !strings.Contains(v, `"`) {
		q = `"`
	}
	return q + strings.ReplaceAll(v, q, q+q) + q
}

// MergeNullable is Merge for overrides as the exports decode them from a
// JSON object of strings or nulls: a nil value (JSON null) removes the
// property, as an empty string does.
func MergeNullable(s string, overrides map[string]*string) (string, error) {
	plain := make(map[string]string, len(overrides))
	for k, v := range overrides {
		if v != nil {
			plain[k] = *v
		} else {
			plain[k] = ""
		}
	}
	return Merge(s, plain)
}

// Merge returns s with overrides applied, as a connection string (see
// [Options.Format]: it holds the secrets). Override keys are property names
// or aliases, case-insensitive; an empty value removes the property. It is
// how keyword arguments (Python's connect(s, Port=5433)) join a string, so
// that bindings need not know the grammar. Nothing is applied on error.
func Merge(s string, overrides map[string]string) (string, error) {
	o, err := Parse(s)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(overrides))
	for k := range overrides {
		keys = append(keys, k)
	}
	sort.Strings(keys) // errors and the choice between spellings do not depend on map order
	seen := map[*property]string{}
	for _, k := range keys {
		p, err := lookup(strings.TrimSpace(k))
		if err != nil {
			return "", err
		}
		if other, ok := seen[p]; ok {
			return "", &Error{Key: p.name, Msg: fmt.Sprintf("key %q: given more than once (as %q and %q)", p.name, other, k)}
		}
		seen[p] = k
		if err := o.Set(k, overrides[k]); err != nil {
			return "", err
		}
	}
	return o.Format(), nil
}
