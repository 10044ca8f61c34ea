package connstr

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lakelink/lakelink/core/weburl"
)

// property is one row of the property table: everything about one key.
// Parse, Set, String, Format, Redacted, Keys and IsSecret all walk the
// table, so adding a key means adding a row here and a field to Options.
type property struct {
	name    string   // canonical spelling: what Keys, String and errors show
	aliases []string // other spellings accepted in place of name
	secret  bool     // the value is a credential: never shown
	codec
}

// codec converts one Options field from and to its text form.
type codec struct {
	// set parses v and stores it in its field of o; v == "" clears the
	// field. On error set leaves o unchanged and returns an error whose
	// text completes a sentence about the value, such as "is not a whole
	// number between 1 and 65535". It never includes v itself.
	set func(o *Options, v string) error
	// get returns the field's normalized text, "" when the field is zero.
	get func(o *Options) string
}

// properties is the property table, in the order of Keys and String.
var properties = [...]property{
	// Workspace
	{name: "Host", aliases: []string{"DatabricksInstance"}, codec: text(func(o *Options) *string { return &o.Host }, workspaceHost)},
	{name: "Profile", codec: text(func(o *Options) *string { return &o.Profile }, nil)},
	{name: "ConfigFile", codec: text(func(o *Options) *string { return &o.ConfigFile }, nil)},
	{name: "DiscoveryURL", codec: text(func(o *Options) *string { return &o.DiscoveryURL }, serverURL)},
	// Auth
	{name: "AuthScheme", codec: enum(func(o *Options) *AuthScheme { return &o.AuthScheme },
		AuthAuto, AuthDatabricks, AuthOAuthClient, AuthOAuthPKCE, AuthToken, AuthPassword)},
	{name: "OAuthClientId", codec: text(func(o *Options) *string { return &o.OAuthClientID }, nil)},
	{name: "OAuthClientSecret", secret: true, codec: text(func(o *Options) *string { return &o.OAuthClientSecret }, nil)},
	{name: "Token", secret: true, codec: text(func(o *Options) *string { return &o.Token }, nil)},
	{name: "Scope", codec: text(func(o *Options) *string { return &o.Scope }, nil)},
	{name: "CallbackURL", codec: text(func(o *Options) *string { return &o.CallbackURL }, httpURL)},
	{name: "InitiateOAuth", codec: enum(func(o *Options) *InitiateOAuth { return &o.InitiateOAuth },
		InitiateOff, InitiateGetAndRefresh, InitiateRefresh)},
	{name: "OAuthSettingsLocation", codec: text(func(o *Options) *string { return &o.OAuthSettingsLocation }, settingsLocation)},
	{name: "OAuthAccessToken", secret: true, codec: text(func(o *Options) *string { return &o.OAuthAccessToken }, nil)},
	{name: "OAuthRefreshToken", secret: true, codec: text(func(o *Options) *string { return &o.OAuthRefreshToken }, nil)},
	{name: "OAuthVerifier", secret: true, codec: text(func(o *Options) *string { return &o.OAuthVerifier }, nil)},
	{name: "OAuthExpiresIn", codec: wholeNumber(func(o *Options) *int { return &o.OAuthExpiresIn }, 0, math.MaxInt64)},
	{name: "OAuthTokenTimestamp", codec: wholeNumber(func(o *Options) *int64 { return &o.OAuthTokenTimestamp }, 0, math.MaxInt64)},
	// General
	{name: "Timeout", codec: duration(func(o *Options) *time.Duration { return &o.Timeout })},
	{name: "Logfile", codec: text(func(o *Options) *string { return &o.Logfile }, nil)},
	{name: "Verbosity", codec: wholeNumber(func(o *Options) *int { return &o.Verbosity }, 1, 5)},
	// Lakebase
	{name: "Server", codec: text(func(o *Options) *string { return &o.Server }, nil)},
	{name: "Port", codec: wholeNumber(func(o *Options) *int { return &o.Port }, 1, 65535)},
	{name: "Database", codec: text(func(o *Options) *string { return &o.Database }, nil)},
	{name: "User", codec: text(func(o *Options) *string { return &o.User }, nil)},
	{name: "Password", secret: true, codec: text(func(o *Options) *string { return &o.Password }, nil)},
	{name: "Instance", codec: text(func(o *Options) *string { return &o.Instance }, nil)},
	{name: "Endpoint", codec: text(func(o *Options) *string { return &o.Endpoint }, endpointPath)},
	{name: "SSLMode", codec: enum(func(o *Options) *SSLMode { return &o.SSLMode },
		SSLDisable, SSLRequire, SSLVerifyCA, SSLVerifyFull)},
	{name: "SSLServerCert", codec: text(func(o *Options) *string { return &o.SSLServerCert }, nil)},
	{name: "ApplicationName", codec: text(func(o *Options) *string { return &o.ApplicationName }, nil)},
	{name: "MaxConnections", codec: wholeNumber(func(o *Options) *int { return &o.MaxConnections }, 1, maxSize)},
	// Pools (package lakebase's Pool)
	{name: "MinConnections", codec: wholeNumber(func(o *Options) *int { return &o.MinConnections }, 0, maxSize)},
	{name: "MaxIdleTime", codec: duration(func(o *Options) *time.Duration { return &o.MaxIdleTime })},
	{name: "MaxLifetime", codec: duration(func(o *Options) *time.Duration { return &o.MaxLifetime })},
	{name: "PoolTimeout", codec: duration(func(o *Options) *time.Duration { return &o.PoolTimeout })},
	{name: "MaxUsers", codec: wholeNumber(func(o *Options) *int { return &o.MaxUsers }, 1, maxSize)},
	{name: "MaxUserConnections", codec: wholeNumber(func(o *Options) *int { return &o.MaxUserConnections }, 1, maxSize)},
	{name: "UserIdleTime", codec: duration(func(o *Options) *time.Duration { return &o.UserIdleTime })},
}

// maxSize bounds every size property (MaxConnections, MinConnections,
// MaxUsers, MaxUserConnections): a pool's sizes are 32-bit (pgxpool's
// MaxConns), so that every user of a size takes it as it is, unclamped.
const maxSize = math.MaxInt32

// find returns the property named key (a canonical name or an alias,
// matched case-insensitively), or nil.
func find(key string) *property {
	for i := range properties {
		p := &properties[i]
		if strings.EqualFold(key, p.name) {
			return p
		}
		for _, a := range p.aliases {
			if strings.EqualFold(key, a) {
				return p
			}
		}
	}
	return nil
}

// text is the codec of a string field, with an optional check of non-empty
// values.
func text(field func(*Options) *string, check func(string) error) codec {
	return codec{
		set: func(o *Options, v string) error {
			if v != "" && check != nil {
				if err := check(v); err != nil {
					return err
				}
			}
			*field(o) = v
			return nil
		},
		get: func(o *Options) string { return *field(o) },
	}
}

// wholeNumber is the codec of an integer field holding min to max (max
// math.MaxInt64 meaning no upper bound but the field's type).
func wholeNumber[T int | int64](field func(*Options) *T, min, max int64) codec {
	want := fmt.Sprintf("is not a whole number between %d and %d", min, max)
	if max == math.MaxInt64 {
		want = fmt.Sprintf("is not a whole number >= %d", min)
	}
	return codec{
		set: func(o *Options, v string) error {
			var n int64
			if v != "" {
				var err error
				n, err = strconv.ParseInt(v, 10, 64)
				if err != nil || n < min || n > max || int64(T(n)) != n {
					return errors.New(want)
				}
			}
			*field(o) = T(n)
			return nil
		},
		get: func(o *Options) string {
			if *field(o) == 0 {
				return ""
			}
			return strconv.FormatInt(int64(*field(o)), 10)
		},
	}
}

// enum is the codec of a field holding one of values, matched
// case-insensitively and stored in the spelling of values.
func enum[T ~string](field func(*Options) *T, values ...T) codec {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = string(v)
	}
	want := "is not one of " + strings.Join(names, ", ")
	return codec{
		set: func(o *Options, v string) error {
			if v == "" {
				*field(o) = ""
				return nil
			}
			for _, c := range values {
				if strings.EqualFold(v, string(c)) {
					*field(o) = c
					return nil
				}
			}
			return errors.New(want)
		},
		get: func(o *Options) string { return string(*field(o)) },
	}
}

// duration is the codec of a time.Duration field holding a positive
// duration, written as whole seconds ("30") or a Go duration ("1m30s").
// Whole seconds are written back as a number, anything else as Go does.
func duration(field func(*Options) *time.Duration) codec {
	const want = `is not a duration greater than 0: write whole seconds ("30") or a Go duration ("1m30s")`
	return codec{
		set: func(o *Options, v string) error {
			var d time.Duration
			if v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil {
					if n <= 0 || n > math.MaxInt64/int64(time.Second) {
						return errors.New(want)
					}
					d = time.Duration(n) * time.Second
				} else if d, err = time.ParseDuration(v); err != nil || d <= 0 {
					return errors.New(want)
				}
			}
			*field(o) = d
			return nil
		},
		get: func(o *Options) string {
			d := *field(o)
			switch {
			case d == 0:
				return ""
			case d%time.Second == 0:
				return strconv.FormatInt(int64(d/time.Second), 10)
			default:
				return d.String()
			}
		},
	}
}

// httpURL checks that v is an absolute http or https URL with a host.
func httpURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("is not an http:// or https:// URL")
	}
	return nil
}

// serverURL checks that v is the URL of a server lakelink sends secrets
// to: https, or http for a loopback host (weburl.Check).
func serverURL(v string) error {
	if err := httpURL(v); err != nil {
		return err
	}
	u, _ := url.Parse(v)
	if err := weburl.Check(u); err != nil {
		return fmt.Errorf("is refused: %w", err)
	}
	return nil
}

// workspaceHost checks Host: a host name, which means https://host, or a
// URL as serverURL wants it.
func workspaceHost(v string) error {
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	if _, err := url.Parse(v); err != nil {
		return errors.New("is not a host name or an https:// URL")
	}
	return serverURL(v)
}

// settingsLocation checks that a memory:// store location has a name.
func settingsLocation(v string) error {
	if name, ok := strings.CutPrefix(v, "memory://"); ok && name == "" {
		return errors.New("names no in-memory store: write a file path or memory://NAME")
	}
	return nil
}

// endpointPath checks that v is projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT.
func endpointPath(v string) error {
	parts := strings.Split(v, "/")
	if len(parts) != 6 || parts[0] != "projects" || parts[2] != "branches" || parts[4] != "endpoints" ||
		parts[1] == "" || parts[3] == "" || parts[5] == "" {
		return errors.New("is not of the form projects/PROJECT/branches/BRANCH/endpoints/ENDPOINT")
	}
	return nil
}
